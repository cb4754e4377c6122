package config

import (
	"strings"
	"testing"
	"time"
)

// The control plane's keys: each mistake gives one problem at its path,
// and a valid credentials list resolves to digests and expiry.
func TestValidateControlPlane(t *testing.T) {
	f := writeTLSFiles(t)
	creds := func(cs ...Credential) func(c *Config) { return func(c *Config) { c.Tenants[0].Credentials = cs } }
	for _, tt := range []struct {
		desc, path, msg string
		mutate          func(c *Config)
	}{
		{"duplicate credential ID", "tenants[0].credentials[1].id", `duplicate credential ID (first at credentials[0])`,
			creds(Credential{ID: "a", SecretEnv: "CAROL_SECRET"}, Credential{ID: "a", SecretEnv: "BOB_SECRET"})},
		{"default taken by secret_sha256", "tenants[0].credentials[0].id", "the ID of the tenant's secret_env / secret_sha256 (default)",
			creds(Credential{ID: "default", SecretEnv: "CAROL_SECRET"})},
		{"credential without ID", "tenants[0].credentials[0].id", "required", creds(Credential{SecretEnv: "CAROL_SECRET"})},
		{"credential without secret", "tenants[0].credentials[0]", "needs secret_env or secret_sha256", creds(Credential{ID: "a"})},
		{"credential with both secrets", "tenants[0].credentials[0]", "both secret_sha256 and secret_env", creds(Credential{ID: "a", SecretEnv: "CAROL_SECRET", SecretSHA256: strings.Repeat("0", 64)})},
		{"bad digest", "tenants[0].credentials[0].secret_sha256", "must be 64 hex digits", creds(Credential{ID: "a", SecretSHA256: "abc"})},
		{"bad expiry", "tenants[0].credentials[0].expires_at", "not an RFC 3339 time", creds(Credential{ID: "a", SecretEnv: "CAROL_SECRET", ExpiresAt: "tomorrow"})},
		{"unset variable", "tenants[0].credentials[0].secret_env", "the environment variable this key names is not set", creds(Credential{ID: "a", SecretEnv: "NOPE"})},
		{"admin token without address", "admin.token_env", "needs admin.address", func(c *Config) { c.Admin = Admin{TokenEnv: "CAROL_SECRET"} }},
		{"client CA without TLS", "admin.client_ca_file", "needs admin.cert_file", func(c *Config) { c.Admin.ClientCAFile = f.ca }},
		{"cert without key", "admin", "cert_file and key_file go together", func(c *Config) { c.Admin.CertFile = f.cert }},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			c := validConfig(t, f)
			tt.mutate(c)
			_, err := reparse(t, c, validEnv())
			lines := errLines(err)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.path+": ") || !strings.Contains(lines[0], tt.msg) {
				t.Fatalf("want one problem %s: ...%s..., got:\n%v", tt.path, tt.msg, err)
			}
		})
	}

	c := validConfig(t, f)
	c.Tenants[1].Credentials = []Credential{{ID: "next", SecretEnv: "BOB_SECRET", ExpiresAt: "2030-01-02T03:04:05Z"}}
	c.Admin.TokenEnv = "CAROL_SECRET"
	c.Store.Path = "/var/lib/redoubt/redoubt.db"
	got, err := reparse(t, c, validEnv())
	if err != nil {
		t.Fatal(err)
	}
	cr := got.Tenants[1].Credentials[0]
	if cr.Digest != SecretDigest(bobSecret) || !cr.Expires.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || got.Admin.Token != carolSecret {
		t.Fatalf("resolved: %+v, admin token set: %v", cr, got.Admin.Token != "")
	}
	if got.Tokens.EndSessionsAtExpiry == nil || !*got.Tokens.EndSessionsAtExpiry {
		t.Fatal("tokens.end_sessions_at_expiry does not default to true")
	}
}
