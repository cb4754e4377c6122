package config

import "fmt"

// validateTenantUsers checks upstreams.NAME.tenant_users.
func validateTenantUsers(p *problems, path string, u Upstream) {
	switch u.TenantUsers {
	case "", TenantUsersProvided:
	case TenantUsersManaged:
		if u.Auth.Mode == AuthAWSIAM {
			// ElastiCache users are created through the AWS API, not ACL SETUSER.
			p.add(path+".tenant_users", "managed needs ACL SETUSER, which ElastiCache does not offer; create the users in AWS and use provided")
		}
	default:
		p.add(path+".tenant_users", "unknown value %q (want managed or provided)", u.TenantUsers)
	}
}

// validateTenantUser checks a tenant's upstream_user / upstream_password_env
// against its upstream's tenant_users.
func (c *Config) validateTenantUser(p *problems, path string, t *Tenant) {
	u, ok := c.Upstreams[t.Upstream]
	if !ok {
		return // reported with the upstream
	}
	hasUser := t.UpstreamUser != ""
	hasPass := t.UpstreamPasswordEnv != "" || t.UpstreamPassword != ""
	if u.TenantUsers != TenantUsersProvided {
		if hasUser || hasPass {
			p.add(path+".upstream_user", "only used when upstreams.%s.tenant_users is provided", t.Upstream)
		}
		return
	}
	if !hasUser {
		p.add(path+".upstream_user", "required: upstreams.%s.tenant_users is provided", t.Upstream)
	}
	if !hasPass && u.Auth.Mode != AuthAWSIAM {
		p.add(path+".upstream_password_env", "required: upstreams.%s.tenant_users is provided", t.Upstream)
	}
	if u.Auth.Mode == AuthAWSIAM && hasPass {
		p.add(path+".upstream_password_env", "not used with upstream auth mode aws-iam (%s logs in with an IAM token)", fmt.Sprintf("%q", t.UpstreamUser))
	}
}
