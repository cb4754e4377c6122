package config

import (
	"strings"
	"testing"
)

// TestTenantUsers checks upstreams.NAME.tenant_users and the tenants'
// upstream_user / upstream_password_env against it.
func TestTenantUsers(t *testing.T) {
	f := writeTLSFiles(t)
	setUp := func(c *Config, name, mode string) {
		u := c.Upstreams[name]
		u.TenantUsers = mode
		c.Upstreams[name] = u
	}
	provided := func(c *Config) {
		setUp(c, "main", TenantUsersProvided)
		for i := range c.Tenants[:2] { // alice and carol are on main
			c.Tenants[i].UpstreamUser = "app-" + c.Tenants[i].Name
			c.Tenants[i].UpstreamPasswordEnv = "REDIS_PASSWORD"
		}
	}
	for _, tc := range []struct {
		desc   string
		mutate func(c *Config)
		want   []string // "" for valid
	}{
		{"managed", func(c *Config) { setUp(c, "main", TenantUsersManaged) }, nil},
		{"provided", provided, nil},
		{"readwrite-strict role", func(c *Config) { c.Tenants[0].Role = RoleReadWriteStrict }, nil},
		{"unknown mode", func(c *Config) { setUp(c, "main", "auto") },
			[]string{`upstreams.main.tenant_users: unknown value "auto" (want managed or provided)`}},
		{"managed with aws-iam", func(c *Config) { setUp(c, "iam", TenantUsersManaged) },
			[]string{"upstreams.iam.tenant_users: managed needs ACL SETUSER"}},
		{"provided without users", func(c *Config) { setUp(c, "main", TenantUsersProvided) },
			[]string{"tenants[0].upstream_user: required", "tenants[0].upstream_password_env: required",
				"tenants[1].upstream_user: required", "tenants[1].upstream_password_env: required"}},
		{"upstream_user without provided", func(c *Config) { c.Tenants[0].UpstreamUser = "x" },
			[]string{"tenants[0].upstream_user: only used when upstreams.main.tenant_users is provided"}},
		{"password variable missing", func(c *Config) { provided(c); c.Tenants[0].UpstreamPasswordEnv = "NOT_SET_ANYWHERE" },
			[]string{"tenants[0].upstream_password_env: the environment variable this key names is not set"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := validConfig(t, f)
			tc.mutate(c)
			got, err := reparse(t, c, validEnv())
			lines := errLines(err)
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("lacks %q:\n%v", w, err)
				}
			}
			if tc.desc == "provided" && got.Tenants[0].UpstreamPassword != redisPassword {
				t.Error("upstream_password_env not resolved")
			}
		})
	}
}
