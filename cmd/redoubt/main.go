// Command redoubt is a secure multi-tenant access gateway for Redis,
// Valkey and AWS ElastiCache. See internal/cli for the commands.
package main

import (
	"context"
	"os"

	"github.com/redoubt-proxy/redoubt/internal/cli"
	"github.com/redoubt-proxy/redoubt/internal/source/open"
)

func main() {
	ctx := cli.WithSources(context.Background(), open.New(open.Options{}))
	os.Exit(cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
