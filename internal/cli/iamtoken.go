package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/awsiam"
)

func newIAMTokenCmd(stdout io.Writer) *cobra.Command {
	var (
		cacheName, user, region string
		serverless              bool
		lifetime                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "iam-token --cache-name NAME --user USER [--region R] [--serverless]",
		Short: "Print an ElastiCache IAM auth token (for redis-cli and debugging)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			creds, resolved, err := awsiam.LoadCredentials(cmd.Context(), region)
			if err != nil {
				return runtimeErr(err)
			}
			p, err := awsiam.NewProvider(awsiam.Config{CacheName: cacheName, User: user, Region: resolved, Serverless: serverless, Lifetime: lifetime}, creds, nil)
			if err != nil {
				return configErr(err)
			}
			tok, err := p.Token(cmd.Context())
			if err != nil {
				return runtimeErr(err)
			}
			fmt.Fprintln(stdout, tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cacheName, "cache-name", "", "replication group id or Serverless cache name")
	f.StringVar(&user, "user", "", "ElastiCache user (IAM users: name equals id)")
	f.StringVar(&region, "region", "", "AWS region (default: the SDK's chain: AWS_REGION, profile)")
	f.BoolVar(&serverless, "serverless", false, "the cache is ElastiCache Serverless")
	f.DurationVar(&lifetime, "lifetime", 0, "token lifetime, at most 15m (default 15m)")
	_ = cmd.MarkFlagRequired("cache-name")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}
