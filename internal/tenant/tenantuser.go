package tenant

import (
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// ManagedCredsFunc returns the login of tenant's managed upstream user on
// the upstream at address (tenantuser.Manager's Credentials, which looks
// the user up at each login).
type ManagedCredsFunc func(address, tenant string) upstream.Credentials

// withTenantUser gives r the tenant's own upstream login when the upstream
// has tenant_users: a copy of the upstream's target whose credentials are
// the tenant's user (everything else, name and address included, stays the
// same, so metrics, CLIENT LIST filtering and route comparison see one
// upstream), and TenantUser set so the isolation allows scripts.
//
// provided: tenants[].upstream_user with upstream_password_env, through
// creds (an aws-iam upstream signs an IAM token for that user instead).
// managed: managed(address, tenant); with nil managed (redoubt check)
// the route keeps the upstream's own login, with scripts refused.
func withTenantUser(r *Route, u config.Upstream, upstreamName string, ct *config.Tenant, creds CredsFunc, managed ManagedCredsFunc) error {
	var c upstream.Credentials
	switch u.TenantUsers {
	case config.TenantUsersProvided:
		a := u.Auth
		a.Username, a.Password, a.PasswordEnv = ct.UpstreamUser, ct.UpstreamPassword, ""
		if a.Mode != config.AuthAWSIAM {
			a.Mode = config.AuthACL
		}
		var err error
		if c, err = creds(upstreamName, a); err != nil {
			return fmt.Errorf("tenant %s: upstream_user: %w", ct.Name, err)
		}
	case config.TenantUsersManaged:
		if managed != nil {
			c = managed(u.Address, ct.Name)
		}
	}
	if c == nil {
		return nil
	}
	t := *r.Target
	t.Creds = c
	r.Target, r.TenantUser = &t, true
	return nil
}
