package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/token"
)

func newTokenCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Issue, inspect and make tokens"}
	cmd.AddCommand(newTokenIssueCmd(stdout, stderr), newTokenInspectCmd(stdout), newTokenLegacyCmd(stdout))
	return cmd
}

func newTokenIssueCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		path, tenantName, upstreamAddr, role string
		ttl                                  time.Duration
		db                                   int
	)
	cmd := &cobra.Command{
		Use:   "issue --config FILE (--tenant NAME | --upstream HOST:PORT [--db N] [--role R]) [--ttl D]",
		Short: "Print a signed token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (tenantName == "") == (upstreamAddr == "") {
				return configErr(errors.New("give exactly one of --tenant or --upstream"))
			}
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			if len(cfg.Tokens.Keys) == 0 {
				return configErr(errors.New("tokens.keys is empty: no key to sign with"))
			}
			kr, err := tenant.Keyring(cfg.Tokens.Keys)
			if err != nil {
				return configErr(err)
			}
			c := token.Claims{Tenant: tenantName, Upstream: upstreamAddr}
			if tenantName != "" {
				if cmd.Flags().Changed("db") || role != "" {
					return configErr(errors.New("--db and --role apply to --upstream routes; a tenant's come from the config"))
				}
				found := false
				for _, t := range cfg.Tenants {
					found = found || t.Name == tenantName
				}
				if !found {
					return configErr(fmt.Errorf("no tenant %q in %s", tenantName, path))
				}
			} else {
				if cmd.Flags().Changed("db") {
					c.DB = &db
				}
				c.Role = role
			}
			if ttl <= 0 {
				ttl = cfg.Tokens.DefaultTTL.D()
			}
			if ttl <= 0 {
				ttl = 24 * time.Hour
			}
			tok, issued, err := kr.Issue(c, time.Now(), ttl)
			if err != nil {
				return configErr(err)
			}
			fmt.Fprintln(stdout, tok)
			// The id (for tokens.revoked) goes to stderr so that
			// $(redoubt token issue ...) captures only the token.
			fmt.Fprintf(stderr, "token id %s, key %s, expires %s\n", issued.ID, issued.KeyID, issued.Expiry.UTC().Format(time.RFC3339))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "", "configuration file with tokens.keys")
	f.StringVar(&tenantName, "tenant", "", "configured tenant the token logs in as")
	f.StringVar(&upstreamAddr, "upstream", "", "ad-hoc route HOST:PORT (must match tokens.allow_upstreams)")
	f.IntVar(&db, "db", 0, "pin this DB index (ad-hoc routes; makes the session inspected)")
	f.StringVar(&role, "role", "", "full | readwrite | readonly (ad-hoc routes)")
	f.DurationVar(&ttl, "ttl", 0, "lifetime (default tokens.default_ttl, else 24h)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newTokenInspectCmd(stdout io.Writer) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "inspect TOKEN [--config FILE]",
		Short: "Print a signed token's claims and, with a config, whether it verifies",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := token.Decode(args[0])
			if err != nil {
				return configErr(err)
			}
			out := map[string]any{"version": c.Version, "kid": c.KeyID, "id": c.ID, "issued_at": c.IssuedAt.UTC(), "expiry": c.Expiry.UTC()}
			if c.Tenant != "" {
				out["tenant"] = c.Tenant
			} else {
				out["upstream"] = c.Upstream
				if c.DB != nil {
					out["db"] = *c.DB
				}
				if c.Role != "" {
					out["role"] = c.Role
				}
			}
			if !c.NotBefore.IsZero() {
				out["not_before"] = c.NotBefore.UTC()
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return configErr(fmt.Errorf("token claims cannot be printed (id %s): %w", c.ID, err))
			}
			fmt.Fprintln(stdout, string(b))
			if path == "" {
				return nil
			}
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			kr, err := tenant.Keyring(cfg.Tokens.Keys)
			if err != nil {
				return configErr(err)
			}
			if _, err := kr.Verify(args[0], time.Now()); err != nil {
				fmt.Fprintln(stdout, "verify: FAILED:", err)
				return configErr(errors.New("token does not verify"))
			}
			for _, r := range cfg.Tokens.Revoked {
				if r == c.ID {
					fmt.Fprintln(stdout, "verify: signature ok, but the token is REVOKED (tokens.revoked)")
					return configErr(errors.New("token revoked"))
				}
			}
			fmt.Fprintln(stdout, "verify: ok")
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file with tokens.keys")
	return cmd
}

func newTokenLegacyCmd(stdout io.Writer) *cobra.Command {
	var upstreamAddr, secret string
	cmd := &cobra.Command{
		Use:   "legacy --upstream HOST:PORT --secret SECRET",
		Short: "Print a legacy-format token: base64(\"HOST:PORT HASH\")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := token.ValidateUpstream(upstreamAddr); err != nil {
				return configErr(err)
			}
			if secret == "" {
				return configErr(errors.New("--secret is empty"))
			}
			fmt.Fprintln(stdout, token.Legacy(upstreamAddr, secret))
			return nil
		},
	}
	cmd.Flags().StringVar(&upstreamAddr, "upstream", "", "HOST:PORT the token routes to")
	cmd.Flags().StringVar(&secret, "secret", "", "the shared legacy secret")
	_ = cmd.MarkFlagRequired("upstream")
	_ = cmd.MarkFlagRequired("secret")
	return cmd
}
