package config

import (
	"strings"
	"testing"
	"time"
)

// brokenCase breaks one thing in the valid example and names the problem
// that must be reported: its key path and a substring of its message.
type brokenCase struct {
	desc   string
	mutate func(c *Config, f tlsFiles)
	env    func(e fakeEnv) // optional change to the environment
	path   string
	msg    string
	// extra is how many other problems the same mistake legitimately causes.
	extra int
}

func brokenCases() []brokenCase {
	upstream := func(c *Config, name string, fn func(u *Upstream)) {
		u := c.Upstreams[name]
		fn(&u)
		c.Upstreams[name] = u
	}
	return []brokenCase{
		// listeners and admin
		{desc: "no listener", mutate: func(c *Config, _ tlsFiles) { c.Listen = nil },
			// dave (mTLS only) loses the listener that identifies him
			path: "listen", msg: "at least one listener is required", extra: 1},
		{desc: "listen address without port", mutate: func(c *Config, _ tlsFiles) { c.Listen[0].Address = "localhost" },
			path: "listen[0].address", msg: "missing port"},
		{desc: "listen port out of range", mutate: func(c *Config, _ tlsFiles) { c.Listen[0].Address = "127.0.0.1:70000" },
			path: "listen[0].address", msg: "invalid port"},
		{desc: "duplicate listen address", mutate: func(c *Config, _ tlsFiles) { c.Listen[1].Address = "127.0.0.1:6380" },
			path: "listen[1].address", msg: "duplicate of listen[0].address"},
		{desc: "tls without key_file", mutate: func(c *Config, _ tlsFiles) { c.Listen[1].TLS.KeyFile = "" },
			path: "listen[1].tls.key_file", msg: "required when tls is set"},
		{desc: "unreadable cert_file", mutate: func(c *Config, _ tlsFiles) { c.Listen[1].TLS.CertFile = "/nonexistent/x.pem" },
			path: "listen[1].tls.cert_file", msg: "cannot read the file: no such file or directory"},
		{desc: "cert_file is not a certificate", mutate: func(c *Config, f tlsFiles) { c.Listen[1].TLS.CertFile = f.key },
			path: "listen[1].tls.cert_file", msg: "no PEM certificate"},
		{desc: "key does not match certificate", mutate: func(c *Config, f tlsFiles) { c.Listen[1].TLS.KeyFile = f.otherKey },
			path: "listen[1].tls.key_file", msg: "does not load with cert_file"},
		{desc: "client CA is not PEM", mutate: func(c *Config, f tlsFiles) { c.Listen[1].TLS.ClientCAFile = f.notPEM },
			path: "listen[1].tls.client_ca_file", msg: "no PEM certificate"},
		{desc: "bad admin address", mutate: func(c *Config, _ tlsFiles) { c.Admin.Address = "9121" },
			path: "admin.address", msg: "missing port"},

		// upstreams
		{desc: "no upstream and no tokens", mutate: func(c *Config, _ tlsFiles) {
			c.Upstreams, c.Tenants, c.Tokens = nil, nil, Tokens{}
		}, path: "upstreams", msg: "at least one upstream is required"},
		{desc: "upstream name charset", mutate: func(c *Config, _ tlsFiles) {
			c.Upstreams["bad name"] = c.Upstreams["bobs"]
		}, path: "upstreams.bad name", msg: "name may contain only", extra: 1 /* same address as bobs: bob is no longer alone */},
		{desc: "upstream address missing", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Address = "" })
		}, path: "upstreams.main.address", msg: "required"},
		{desc: "upstream address port 0", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Address = "127.0.0.1:0" })
		}, path: "upstreams.main.address", msg: "want 1..65535"},
		{desc: "upstream address with credentials", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Address = "user:hunter2@127.0.0.1:6379" })
		}, path: "upstreams.main.address", msg: "without credentials"},
		{desc: "upstream address is a URL", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Address = "redis://:hunter2@127.0.0.1:6379" })
		}, path: "upstreams.main.address", msg: "not a URL"},
		{desc: "upstream ca_file missing", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "bobs", func(u *Upstream) { u.TLS.CAFile = "/nonexistent/ca.pem" })
		}, path: "upstreams.bobs.tls.ca_file", msg: "no such file or directory"},
		{desc: "upstream tls settings without enabled", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "bobs", func(u *Upstream) { u.TLS.Enabled = false })
		}, path: "upstreams.bobs.tls.enabled", msg: "must be true when ca_file"},
		{desc: "negative max_db", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "bobs", func(u *Upstream) { u.MaxDB = intp(-1) })
		}, path: "upstreams.bobs.max_db", msg: "must not be negative"},
		{desc: "unknown auth mode", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Auth.Mode = "passwd" })
		}, path: "upstreams.main.auth.mode", msg: "unknown mode (want"},
		{desc: "password mode without password_env", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Auth.PasswordEnv = "" })
		}, path: "upstreams.main.auth.password_env", msg: "required with mode password"},
		{desc: "password mode with username", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Auth.Username = "proxy" })
		}, path: "upstreams.main.auth.username", msg: "use mode acl"},
		{desc: "acl mode without username", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "bobs", func(u *Upstream) { u.Auth.Username = "" })
		}, path: "upstreams.bobs.auth.username", msg: "required with mode acl"},
		{desc: "acl mode without password_env", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "bobs", func(u *Upstream) { u.Auth.PasswordEnv = "" })
		}, path: "upstreams.bobs.auth.password_env", msg: "required with mode acl"},
		{desc: "password variable not set", env: func(e fakeEnv) { delete(e, "BOB_REDIS_PASSWORD") },
			path: "upstreams.bobs.auth.password_env", msg: "the environment variable this key names is not set"},
		{desc: "password variable empty", env: func(e fakeEnv) { e["REDIS_PASSWORD"] = "" },
			// upstream_defaults uses the same variable
			path: "upstreams.main.auth.password_env", msg: "the environment variable this key names is empty", extra: 1},
		{desc: "password_env holds a secret, not a name", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Auth.PasswordEnv = "p@ss w0rd!" })
		}, path: "upstreams.main.auth.password_env", msg: "not a valid environment variable name"},
		{desc: "mode none with password_env", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Auth.Mode = "" })
		}, path: "upstreams.main.auth.mode", msg: "ambiguous"},
		{desc: "IAM setting on a password upstream", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.Auth.CacheName = "x" })
		}, path: "upstreams.main.auth.cache_name", msg: "only used with mode aws-iam"},

		// aws-iam (issue 5)
		{desc: "aws-iam without tls", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.TLS.Enabled = false })
		}, path: "upstreams.iam.auth.mode", msg: "aws-iam requires tls.enabled"},
		{desc: "aws-iam without username", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.Username = "" })
		}, path: "upstreams.iam.auth.username", msg: "required with mode aws-iam"},
		{desc: "aws-iam without cache_name", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.CacheName = "" })
		}, path: "upstreams.iam.auth.cache_name", msg: "required with mode aws-iam"},
		{desc: "aws-iam with password_env", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.PasswordEnv = "REDIS_PASSWORD" })
		}, path: "upstreams.iam.auth.password_env", msg: "not allowed with mode aws-iam"},
		{desc: "aws-iam token lifetime above 15m", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.TokenLifetime = Duration(16 * 60e9) })
		}, path: "upstreams.iam.auth.token_lifetime", msg: "at most 15m"},
		{desc: "aws-iam reauth past the 12h ceiling", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.ReauthInterval = Duration(12 * 3600e9) })
		}, path: "upstreams.iam.auth.reauth_interval", msg: "under 12h"},
		{desc: "aws-iam max age past the 12h ceiling", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.MaxConnectionAge = Duration(13 * 3600e9) })
		}, path: "upstreams.iam.auth.max_connection_age", msg: "at most 12h"},
		{desc: "serverless with a db", mutate: func(c *Config, _ tlsFiles) { c.Tenants[3].DB = intp(2) },
			path: "tenants[3].db", msg: "upstreams.iam is ElastiCache Serverless, which has DB 0 only"},

		// tenants
		{desc: "tenant without name", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].Name = "" },
			path: "tenants[0].name", msg: "required"},
		{desc: "tenant name charset", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].Name = "al ice" },
			path: "tenants[0].name", msg: "may contain only letters"},
		{desc: "duplicate tenant", mutate: func(c *Config, _ tlsFiles) { c.Tenants[1].Name = "alice" },
			path: "tenants[1].name", msg: "duplicate of tenants[0].name"},
		{desc: "both secrets", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].SecretEnv = "CAROL_SECRET" },
			path: "tenants[0]", msg: "both secret_sha256 and secret_env"},
		{desc: "secret_sha256 not hex", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].SecretSHA256 = strings.Repeat("z", 64) },
			path: "tenants[0].secret_sha256", msg: "must be 64 hex digits"},
		{desc: "secret_sha256 too short", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].SecretSHA256 = "abcd" },
			path: "tenants[0].secret_sha256", msg: "must be 64 hex digits"},
		{desc: "secret_env not set", env: func(e fakeEnv) { delete(e, "CAROL_SECRET") },
			path: "tenants[1].secret_env", msg: "the environment variable this key names is not set"},
		{desc: "no secret and no mTLS listener", mutate: func(c *Config, _ tlsFiles) { c.Listen[1].TLS.ClientCAFile = "" },
			path: "tenants[3]", msg: "no secret_sha256 or secret_env"},
		{desc: "tenant without upstream", mutate: func(c *Config, _ tlsFiles) { c.Tenants[1].Upstream = "" },
			path: "tenants[1].upstream", msg: "required"},
		{desc: "unknown upstream", mutate: func(c *Config, _ tlsFiles) { c.Tenants[1].Upstream = "foo" },
			path: "tenants[1].upstream", msg: "names no entry of upstreams"},
		{desc: "unknown role", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].Role = "admin" },
			path: "tenants[0].role", msg: "unknown role (want"},
		{desc: "db above default max_db", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].DB = intp(16) },
			path: "tenants[0].db", msg: "out of range 0..15 (set upstreams.main.max_db to allow more)"},
		{desc: "db above configured max_db", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "main", func(u *Upstream) { u.MaxDB = intp(3) })
		}, path: "tenants[1].db", msg: "out of range 0..3"},
		{desc: "negative db", mutate: func(c *Config, _ tlsFiles) { c.Tenants[0].DB = intp(-1) },
			path: "tenants[0].db", msg: "out of range 0..15"},
		{desc: "commands rule without sign", mutate: func(c *Config, _ tlsFiles) { c.Tenants[1].Commands = "+@read keys" },
			path: "tenants[1].commands", msg: "must be +COMMAND"},
		{desc: "commands bare sign", mutate: func(c *Config, _ tlsFiles) { c.Tenants[1].Commands = "+" },
			path: "tenants[1].commands", msg: "rule 1 must be"},
		{desc: "role full on a shared upstream", mutate: func(c *Config, _ tlsFiles) { c.Tenants[2].Upstream = "main" },
			path: "tenants[2].role", msg: "role full without db needs an upstream of its own; upstreams.main is shared with tenants[0]"},
		{desc: "role full on an upstream whose address another entry uses", mutate: func(c *Config, _ tlsFiles) {
			c.Upstreams["bobs2"] = c.Upstreams["bobs"]
		}, path: "tenants[2].role", msg: "upstreams.bobs has the same address as upstreams.bobs2"},
		{desc: "role full on the alias of a used address", mutate: func(c *Config, _ tlsFiles) {
			c.Upstreams["main2"] = c.Upstreams["main"]
			c.Tenants[2].Upstream = "main2"
		}, path: "tenants[2].role", msg: "upstreams.main2 is shared with tenants[0]"},

		// tokens
		{desc: "token key without id", mutate: func(c *Config, _ tlsFiles) { c.Tokens.Keys[0].ID = "" },
			path: "tokens.keys[0].id", msg: "required"},
		{desc: "token key id with a dot", mutate: func(c *Config, _ tlsFiles) { c.Tokens.Keys[0].ID = "k.1" },
			path: "tokens.keys[0].id", msg: "1 to 32 letters"},
		{desc: "token key id too long", mutate: func(c *Config, _ tlsFiles) { c.Tokens.Keys[0].ID = strings.Repeat("k", 33) },
			path: "tokens.keys[0].id", msg: "1 to 32 letters"},
		{desc: "duplicate token key id", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.Keys = append(c.Tokens.Keys, c.Tokens.Keys[0])
		}, path: "tokens.keys[1].id", msg: "duplicate of tokens.keys[0].id"},
		{desc: "token key without secret_env", mutate: func(c *Config, _ tlsFiles) { c.Tokens.Keys[0].SecretEnv = "" },
			path: "tokens.keys[0].secret_env", msg: "required"},
		{desc: "token key variable not set", env: func(e fakeEnv) { delete(e, "REDOUBT_TOKEN_KEY") },
			path: "tokens.keys[0].secret_env", msg: "the environment variable this key names is not set"},
		{desc: "token key too short", env: func(e fakeEnv) { e["REDOUBT_TOKEN_KEY"] = "short-key-V4lu3" },
			path: "tokens.keys[0].secret_env", msg: "at least 32 bytes"},
		{desc: "legacy secret variable not set", env: func(e fakeEnv) { delete(e, "SHARED_SECRET") },
			path: "tokens.legacy_secret_env", msg: "the environment variable this key names is not set"},
		{desc: "allow_upstreams without port", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[0] = "127.0.0.1" },
			path: "tokens.allow_upstreams[0]", msg: "want HOST:PORT"},
		{desc: "allow_upstreams bad port", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[0] = "127.0.0.1:http" },
			path: "tokens.allow_upstreams[0]", msg: "invalid port"},
		{desc: "allow_upstreams bad CIDR", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[2] = "10.0.0.0/33:6379" },
			path: "tokens.allow_upstreams[2]", msg: "invalid CIDR"},
		{desc: "allow_upstreams IPv6 without brackets", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[3] = "fd00::/8:*" },
			path: "tokens.allow_upstreams[3]", msg: "need brackets"},
		{desc: "allow_upstreams IPv4 CIDR in brackets", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[3] = "[10.0.0.0/8]:*" },
			path: "tokens.allow_upstreams[3]", msg: "invalid IPv6 CIDR"},
		{desc: "allow_upstreams CIDR with host bits", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[2] = "10.0.0.1/8:6379" },
			path: "tokens.allow_upstreams[2]", msg: "host bits set (write 10.0.0.0/8)"},
		{desc: "allow_upstreams IP-looking glob", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[2] = "10.0.*:6379" },
			path: "tokens.allow_upstreams[2]", msg: "use a CIDR"},
		{desc: "allow_upstreams glob with empty label", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[1] = "*..amazonaws.com:6379" },
			path: "tokens.allow_upstreams[1]", msg: "empty label"},
		{desc: "allow_upstreams bad glob", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[1] = "*.cache/x:6379" },
			path: "tokens.allow_upstreams[1]", msg: "invalid CIDR"},
		{desc: "allow_upstreams bad glob char", mutate: func(c *Config, _ tlsFiles) { c.Tokens.AllowUpstreams[1] = "ca$he:6379" },
			path: "tokens.allow_upstreams[1]", msg: "invalid host glob"},
		{desc: "upstream_defaults acl without username", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.UpstreamDefaults.Auth.Username = ""
		}, path: "tokens.upstream_defaults.auth.username", msg: "required with mode acl"},
		{desc: "upstream_defaults aws-iam without tls", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.UpstreamDefaults.TLS.Enabled = false
			c.Tokens.UpstreamDefaults.Auth = UpstreamAuth{Mode: AuthAWSIAM, Username: "u", CacheName: "c"}
		}, path: "tokens.upstream_defaults.auth.mode", msg: "aws-iam requires tls.enabled"},
		{desc: "empty revoked entry", mutate: func(c *Config, _ tlsFiles) { c.Tokens.Revoked = append(c.Tokens.Revoked, "") },
			path: "tokens.revoked[1]", msg: "not a token id"},
		{desc: "revoked entry that is no token id", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.Revoked = append(c.Tokens.Revoked, "0123456789abcdef0123456789abcdeg")
		}, path: "tokens.revoked[1]", msg: "not a token id"},
		{desc: "revoked entry too short", mutate: func(c *Config, _ tlsFiles) { c.Tokens.Revoked = append(c.Tokens.Revoked, "tok-123") },
			path: "tokens.revoked[1]", msg: "not a token id"},
		{desc: "password on token routes over plain TCP", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.UpstreamDefaults.TLS = UpstreamTLS{}
		}, path: "tokens.upstream_defaults.auth.mode", msg: "need tls.enabled: true with certificate verification"},
		{desc: "password on token routes over unverified TLS", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.UpstreamDefaults.TLS.InsecureSkipVerify = true
		}, path: "tokens.upstream_defaults.auth.mode", msg: "need tls.enabled: true with certificate verification"},
		{desc: "aws-iam cache name with a slash", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.CacheName = "my-cache/x?y" })
		}, path: "upstreams.iam.auth.cache_name", msg: "only letters, digits and hyphens"},
		{desc: "aws-iam token lifetime not whole seconds", mutate: func(c *Config, _ tlsFiles) {
			upstream(c, "iam", func(u *Upstream) { u.Auth.TokenLifetime = Duration(1500 * time.Millisecond) })
		}, path: "upstreams.iam.auth.token_lifetime", msg: "whole seconds"},
		{desc: "allow-list entry the token parser refuses", mutate: func(c *Config, _ tlsFiles) {
			c.Tokens.AllowUpstreams = append(c.Tokens.AllowUpstreams, "[::ffff:a00:0/104]:6379")
		}, path: "tokens.allow_upstreams[4]", msg: "IPv4-mapped"},
		{desc: "client_auth without client_ca_file", mutate: func(c *Config, _ tlsFiles) {
			c.Listen[1].TLS.ClientCAFile = ""
			c.Listen[1].TLS.ClientAuth = "require"
			c.Tenants[3].SecretEnv = "CAROL_SECRET"
		}, path: "listen[1].tls.client_auth", msg: "needs client_ca_file"},
		{desc: "unknown client_auth", mutate: func(c *Config, _ tlsFiles) { c.Listen[1].TLS.ClientAuth = "maybe" },
			path: "listen[1].tls.client_auth", msg: "want require or optional"},
		{desc: "negative default_ttl", mutate: func(c *Config, _ tlsFiles) { c.Tokens.DefaultTTL = -1 },
			path: "tokens.default_ttl", msg: "must not be negative"},

		// limits and log
		{desc: "negative limit", mutate: func(c *Config, _ tlsFiles) { c.Limits.PreAuthMaxArgs = -1 },
			path: "limits.preauth_max_args", msg: "must not be negative"},
		{desc: "connection limit below -1", mutate: func(c *Config, _ tlsFiles) { c.Limits.MaxConnections = -2 },
			path: "limits.max_connections", msg: "must be -1 (no limit)"},
		{desc: "unauthenticated per address below -1", mutate: func(c *Config, _ tlsFiles) { c.Limits.MaxUnauthenticatedPerAddr = -5 },
			path: "limits.max_unauthenticated_per_addr", msg: "must be -1 (no limit)"},
		{desc: "no room left for sessions", mutate: func(c *Config, _ tlsFiles) { c.Limits.MaxConnections, c.Limits.MaxUnauthenticated = 10, 10 },
			path: "limits.max_unauthenticated", msg: "must be below limits.max_connections"},
		{desc: "negative duration limit", mutate: func(c *Config, _ tlsFiles) { c.Limits.AuthTimeout = Duration(-1e9) },
			path: "limits.auth_timeout", msg: "must not be negative"},
		{desc: "auth_fail_per_addr below -1", mutate: func(c *Config, _ tlsFiles) { c.Limits.AuthFailPerAddr = -2 },
			path: "limits.auth_fail_per_addr", msg: "must be -1"},
		{desc: "negative auth_fail_window", mutate: func(c *Config, _ tlsFiles) { c.Limits.AuthFailWindow = -1 },
			path: "limits.auth_fail_window", msg: "must not be negative"},
		{desc: "pprof without an admin address", mutate: func(c *Config, _ tlsFiles) { c.Admin.Address, c.Admin.Pprof = "", true },
			path: "admin.pprof", msg: "needs admin.address"},
		{desc: "negative event_loops", mutate: func(c *Config, _ tlsFiles) { c.Limits.EventLoops = -1 },
			path: "limits.event_loops", msg: "must not be negative"},
		{desc: "too many event_loops", mutate: func(c *Config, _ tlsFiles) { c.Limits.EventLoops = 257 },
			path: "limits.event_loops", msg: "must be at most 256"},
		{desc: "max_auth_failures below 1", mutate: func(c *Config, _ tlsFiles) { c.Limits.MaxAuthFailures = -2 },
			path: "limits.max_auth_failures", msg: "must be at least 1"},
		{desc: "unknown log level", mutate: func(c *Config, _ tlsFiles) { c.Log.Level = "verbose" },
			path: "log.level", msg: "unknown level (want"},
		{desc: "unknown log format", mutate: func(c *Config, _ tlsFiles) { c.Log.Format = "xml" },
			path: "log.format", msg: "unknown format (want"},
	}
}

func TestValidateReportsEachRule(t *testing.T) {
	f := writeTLSFiles(t)
	for _, tt := range brokenCases() {
		t.Run(tt.desc, func(t *testing.T) {
			c := validConfig(t, f)
			if tt.mutate != nil {
				tt.mutate(c, f)
			}
			env := validEnv()
			if tt.env != nil {
				tt.env(env)
			}
			_, err := reparse(t, c, env)
			lines := errLines(err)
			found := false
			for _, l := range lines {
				if strings.HasPrefix(l, tt.path+": ") && strings.Contains(l, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("want a problem %q containing %q, got:\n%v", tt.path, tt.msg, err)
			}
			// One mistake, one message: checks must not pile up echoes.
			if want := 1 + tt.extra; len(lines) != want {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), want, err)
			}
		})
	}
}

// Variations of the valid example that must stay valid: each guards a
// rule against being stricter than documented.
func TestValidateAccepts(t *testing.T) {
	f := writeTLSFiles(t)
	tests := []struct {
		desc   string
		mutate func(c *Config)
	}{
		{"max_db raised allows a higher db", func(c *Config) {
			u := c.Upstreams["main"]
			u.MaxDB = intp(31)
			c.Upstreams["main"] = u
			c.Tenants[0].DB = intp(31)
		}},
		{"role full with a db on a shared upstream (inspected, pinned)", func(c *Config) {
			c.Tenants[0].Role = RoleFull
		}},
		{"no upstreams when tokens are configured", func(c *Config) {
			c.Upstreams, c.Tenants = nil, nil
		}},
		{"two listeners on port 0", func(c *Config) {
			c.Listen[0].Address, c.Listen[1].Address = "127.0.0.1:0", "127.0.0.1:0"
		}},
		{"listen on all interfaces", func(c *Config) { c.Listen[0].Address = ":6380" }},
		{"IPv6 listen address", func(c *Config) { c.Listen[0].Address = "[::1]:6380" }},
		{"every allow_upstreams form of docs/tokens.md", func(c *Config) {
			c.Tokens.AllowUpstreams = []string{"*.cache.amazonaws.com:6379", "redis-?.internal:*",
				"10.0.0.0/8:6379", "127.0.0.1:*", "10.0.0.5:6379", "[fd00::/8]:6379", "[fd00::5]:6379", "*:6379"}
		}},
		{"per-address throttle off", func(c *Config) { c.Limits.AuthFailPerAddr = -1 }},
		{"no admin endpoint", func(c *Config) { c.Admin.Address = "" }},
		{"no tokens at all", func(c *Config) { c.Tokens = Tokens{} }},
		{"lowercase secret_sha256", func(c *Config) { c.Tenants[0].SecretSHA256 = strings.ToLower(c.Tenants[0].SecretSHA256) }},
		{"serverless tenant with db 0", func(c *Config) { c.Tenants[3].DB = intp(0) }},
		{"empty role becomes readwrite", func(c *Config) { c.Tenants[0].Role = "" }},
		{"aws-iam without region (SDK chain)", func(c *Config) {
			u := c.Upstreams["iam"]
			u.Auth.Region = ""
			c.Upstreams["iam"] = u
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := validConfig(t, f)
			tt.mutate(c)
			if _, err := reparse(t, c, validEnv()); err != nil {
				t.Errorf("rejected:\n%v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	f := writeTLSFiles(t)
	c := validConfig(t, f)
	c.Listen[0].Address = "nope"      // 1
	c.Tenants[1].Name = "alice"       // 2
	c.Tenants[0].DB = intp(99)        // 3
	c.Tenants[2].Upstream = "missing" // 4
	env := validEnv()
	delete(env, "REDOUBT_TOKEN_KEY") // 5
	_, err := reparse(t, c, env)
	want := []string{
		"listen[0].address: ",
		"tenants[1].name: duplicate of tenants[0].name",
		"tenants[0].db: out of range",
		"tenants[2].upstream: names no entry of upstreams",
		"tokens.keys[0].secret_env: the environment variable this key names is not set",
	}
	lines := errLines(err)
	if len(lines) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

func TestValidateWithCommandsHook(t *testing.T) {
	f := writeTLSFiles(t)
	c, err := Parse([]byte(validConfigText(f)), validEnv().lookup)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	hook := func(rules string) error {
		seen = append(seen, rules)
		if strings.Contains(rules, "-keys") {
			return errString("unknown command KEYS?")
		}
		return nil
	}
	err = c.ValidateWith(Hooks{Commands: hook})
	if err == nil || !strings.Contains(err.Error(), "tenants[1].commands: unknown command KEYS?") {
		t.Errorf("hook error not reported with its path: %v", err)
	}
	if len(seen) != 1 {
		t.Errorf("hook called for %v, want only the tenant that has commands", seen)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// Config built in code, without a file or environment: resolved values
// stand in for their *_env keys.
func TestValidateProgrammaticConfig(t *testing.T) {
	c := &Config{
		Listen:    []Listener{{Address: "127.0.0.1:0"}},
		Upstreams: map[string]Upstream{"u": {Address: "127.0.0.1:6379", Auth: UpstreamAuth{Mode: AuthPassword, Password: "pw"}}},
		Tenants:   []Tenant{{Name: "t", Upstream: "u", SecretDigest: SecretDigest("s"), Role: RoleFull}},
		Tokens:    Tokens{Keys: []TokenKey{{ID: "k", Secret: []byte(strings.Repeat("x", 32))}}},
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("rejected:\n%v", err)
	}
	c.Tokens.Keys[0].Secret = []byte("short")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tokens.keys[0].secret: the key must be at least 32 bytes") {
		t.Errorf("short programmatic key: %v", err)
	}
}
