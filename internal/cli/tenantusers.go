package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/tenantuser"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// adminTarget is the target that logs in to an upstream with its own
// configured login (static: check skips aws-iam upstreams).
func adminTarget(name string, u config.Upstream) (*upstream.Target, error) {
	tc, err := upstream.ClientTLS(u.TLS, u.Address)
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s.tls: %w", name, err)
	}
	return &upstream.Target{Name: name, Address: u.Address, TLS: tc, Creds: upstream.StaticCreds(u.Auth), DialTimeout: u.DialTimeout.D()}, nil
}

// checkProvidedUsers warns, for `redoubt check`, about every provided
// upstream user whose rules would let it leave its DB (asked of the
// upstream with ACL DRYRUN through the upstream's own login), or that
// could not be verified. Warnings do not fail the check: the upstream may
// be unreachable from where check runs.
func checkProvidedUsers(ctx context.Context, cfg *config.Config, w io.Writer) {
	names := make([]string, 0, len(cfg.Upstreams))
	for name, u := range cfg.Upstreams {
		if u.TenantUsers == config.TenantUsersProvided && u.Auth.Mode != config.AuthAWSIAM {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		t, err := adminTarget(name, cfg.Upstreams[name])
		if err != nil {
			fmt.Fprintf(w, "warning: upstreams.%s: %v\n", name, err)
			continue
		}
		unreachable := false
		for i, ten := range cfg.Tenants {
			if ten.Upstream != name || unreachable {
				continue
			}
			db := 0
			if ten.DB != nil {
				db = *ten.DB
			}
			open, err := tenantuser.Escapes(ctx, t, ten.UpstreamUser, db)
			switch {
			case err != nil && strings.HasPrefix(err.Error(), "dial upstream"):
				// One timeout per upstream, not one per tenant.
				fmt.Fprintf(w, "warning: upstreams.%s: could not verify its tenants' upstream users: %v\n", name, err)
				unreachable = true
			case err != nil:
				fmt.Fprintf(w, "warning: tenants[%d].upstream_user %q: could not verify that it stays in DB %d: %v\n", i, ten.UpstreamUser, db, err)
			case len(open) > 0:
				fmt.Fprintf(w, "warning: tenants[%d].upstream_user %q could leave DB %d or act on the whole server; its ACL rules allow: %v (see tenantuser rules in docs/security.md)\n", i, ten.UpstreamUser, db, open)
			}
		}
	}
}
