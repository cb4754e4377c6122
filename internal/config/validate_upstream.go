package config

import (
	"time"

	"github.com/redoubt-proxy/redoubt/internal/awsiam"
)

// iamConnectionCeiling is when AWS closes an IAM-authenticated connection
// that has not logged in again.
const iamConnectionCeiling = 12 * time.Hour

func (c *Config) validateUpstreams(p *problems) {
	if len(c.Upstreams) == 0 && !c.tokensConfigured() {
		p.add("upstreams", "at least one upstream is required (or configure tokens.keys or tokens.legacy_secret_env for token routes)")
	}
	for _, name := range c.upstreamNames() {
		u := c.Upstreams[name]
		path := "upstreams." + name
		if !validName(name) {
			p.add(path, "name may contain only letters, digits, '.', '_' and '-'")
		}
		if err := checkHostPort(u.Address, false); err != nil {
			p.add(path+".address", "%v", err)
		}
		if u.MaxDB != nil && *u.MaxDB < 0 {
			p.add(path+".max_db", "must not be negative")
		}
		if u.DialTimeout < 0 {
			p.add(path+".dial_timeout", "must not be negative")
		}
		u.TLS.validate(p, path+".tls")
		u.Auth.validate(p, path+".auth", u.TLS.Enabled)
		validateTenantUsers(p, path, u)
	}
}

func (t UpstreamTLS) validate(p *problems, path string) {
	if t.CAFile != "" {
		checkCAFile(p, path+".ca_file", t.CAFile)
	}
	if !t.Enabled && (t.CAFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		// Settings that look like TLS but are silently unused would send
		// the password in clear text to someone who believes otherwise.
		p.add(path+".enabled", "must be true when ca_file, server_name or insecure_skip_verify is set")
	}
}

// validate checks an upstream login block. path is e.g.
// "upstreams.main.auth"; tlsEnabled is the sibling tls.enabled.
//
// Password and Secret fields may also be set directly by code that builds
// a Config without a file; a resolved value counts as configured.
func (a UpstreamAuth) validate(p *problems, path string, tlsEnabled bool) {
	hasPassword := a.PasswordEnv != "" || a.Password != ""
	if a.Mode != AuthAWSIAM {
		for _, f := range []struct {
			key string
			set bool
		}{
			{"cache_name", a.CacheName != ""},
			{"region", a.Region != ""},
			{"serverless", a.Serverless},
			{"token_lifetime", a.TokenLifetime != 0},
			{"reauth_interval", a.ReauthInterval != 0},
			{"max_connection_age", a.MaxConnectionAge != 0},
		} {
			if f.set {
				p.add(path+"."+f.key, "only used with mode aws-iam")
			}
		}
	}
	switch a.Mode {
	case AuthNone:
		if a.PasswordEnv != "" || a.Username != "" {
			p.add(path+".mode", "none, but username or password_env is set; say mode password or acl (ambiguous)")
		}
	case AuthPassword:
		if !hasPassword {
			p.add(path+".password_env", "required with mode password")
		}
		if a.Username != "" {
			p.add(path+".username", "not used with mode password (AUTH password); use mode acl for AUTH username password")
		}
	case AuthACL:
		if a.Username == "" {
			p.add(path+".username", "required with mode acl")
		}
		if !hasPassword {
			p.add(path+".password_env", "required with mode acl")
		}
	case AuthAWSIAM:
		a.validateIAM(p, path, tlsEnabled)
	default:
		p.add(path+".mode", "unknown mode (want none, password, acl or aws-iam)")
	}
}

func (a UpstreamAuth) validateIAM(p *problems, path string, tlsEnabled bool) {
	if !tlsEnabled {
		// ElastiCache accepts IAM logins only over TLS, and the token is a
		// bearer credential for 15 minutes.
		p.add(path+".mode", "aws-iam requires tls.enabled: true")
	}
	if a.Username == "" {
		p.add(path+".username", "required with mode aws-iam (the ElastiCache user id)")
	}
	switch {
	case a.CacheName == "":
		p.add(path+".cache_name", "required with mode aws-iam")
	case !awsiam.ValidCacheName(a.CacheName):
		// The name becomes the host of the signed URL; serve refuses it.
		p.add(path+".cache_name", "only letters, digits and hyphens are allowed")
	}
	if a.PasswordEnv != "" || a.Password != "" {
		p.add(path+".password_env", "not allowed with mode aws-iam (the password is a signed IAM token)")
	}
	if a.TokenLifetime < 0 || a.TokenLifetime.D() > DefaultIAMTokenLifetime {
		p.add(path+".token_lifetime", "must be positive and at most 15m (AWS accepts IAM tokens for 15 minutes at most)")
	} else if a.TokenLifetime.D()%time.Second != 0 {
		p.add(path+".token_lifetime", "must be whole seconds (X-Amz-Expires is in seconds)")
	}
	if a.ReauthInterval < 0 || a.ReauthInterval.D() >= iamConnectionCeiling {
		p.add(path+".reauth_interval", "must be positive and under 12h (AWS closes IAM connections after 12 hours)")
	}
	if a.MaxConnectionAge < 0 || a.MaxConnectionAge.D() > iamConnectionCeiling {
		p.add(path+".max_connection_age", "must be positive and at most 12h (AWS closes IAM connections after 12 hours)")
	}
}

func (c *Config) tokensConfigured() bool {
	return len(c.Tokens.Keys) > 0 || c.Tokens.LegacySecretEnv != "" || c.Tokens.LegacySecret != ""
}
