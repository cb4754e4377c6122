package tenant

import (
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/model"
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
// provided: the tenant's UpstreamUser and UpstreamPassword, through
// creds (an aws-iam upstream signs an IAM token for that user instead).
// managed: managed(address, tenant); with nil managed (redoubt check)
// the route keeps the upstream's own login, with scripts refused.
func withTenantUser(r *Route, u model.Upstream, mt *model.Tenant, creds CredsFunc, managed ManagedCredsFunc) error {
	var c upstream.Credentials
	switch u.TenantUsers {
	case model.TenantUsersProvided:
		a := u.Auth
		a.Username, a.Password = mt.UpstreamUser, mt.UpstreamPassword
		if a.Mode != model.AuthAWSIAM {
			a.Mode = model.AuthACL
		}
		var err error
		if c, err = creds(u.Name, a); err != nil {
			return fmt.Errorf("tenant %s: upstream_user: %w", mt.Name, err)
		}
	case model.TenantUsersManaged:
		if managed != nil {
			c = managed(u.Address, mt.Name)
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

// Target returns the target of upstream name with the upstream's own
// login (upstreams.NAME.auth), as built for this directory: the login
// that manages the tenant users of tenant_users: managed.
func (d *Directory) Target(name string) (*upstream.Target, bool) {
	b, ok := d.targets[name]
	return b.t, ok
}
