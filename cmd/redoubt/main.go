// Command redoubt is a secure multi-tenant access gateway for Redis,
// Valkey and AWS ElastiCache. See internal/cli for the commands.
package main

import (
	"context"
	"os"

	"github.com/redoubt-proxy/redoubt/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
