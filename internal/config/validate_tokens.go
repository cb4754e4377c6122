package config

import (
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/token"
)

func (c *Config) validateTokens(p *problems) {
	tk := c.Tokens
	seen := map[string]int{}
	for i, k := range tk.Keys {
		path := fmt.Sprintf("tokens.keys[%d]", i)
		switch {
		case k.ID == "":
			p.add(path+".id", "required")
		case !validKeyID(k.ID):
			// The id travels inside tokens; keep it URL-safe and free of
			// the separators a token format may use.
			p.add(path+".id", "1 to 32 letters, digits, '_' or '-'")
		default:
			if first, dup := seen[k.ID]; dup {
				p.add(path+".id", "duplicate of tokens.keys[%d].id", first)
			} else {
				seen[k.ID] = i
			}
		}
		switch {
		case k.SecretEnv == "" && len(k.Secret) == 0:
			p.add(path+".secret_env", "required")
		case len(k.Secret) > 0 && len(k.Secret) < MinTokenKeyLen:
			where := path + ".secret_env"
			if k.SecretEnv == "" {
				where = path + ".secret"
			}
			p.add(where, "the key must be at least %d bytes (generate one with: openssl rand -hex 32)", MinTokenKeyLen)
		}
	}
	for i, a := range tk.AllowUpstreams {
		// The gateway builds its allow-list with token.CheckAllowRule's
		// parser, which is stricter than checkAllowUpstream: run both, so
		// check refuses everything serve would.
		err := checkAllowUpstream(a)
		if err == nil {
			err = token.CheckAllowRule(a)
		}
		if err != nil {
			p.add(fmt.Sprintf("tokens.allow_upstreams[%d]", i), "%v", err)
		}
	}
	for i, r := range tk.Revoked {
		// ApplyDefaults has normalised the spelling already.
		if !token.ValidID(r) {
			p.add(fmt.Sprintf("tokens.revoked[%d]", i), "not a token id: want the 32 hex digits that `redoubt token issue` and `token inspect` print")
		}
	}
	if tk.DefaultTTL < 0 {
		p.add("tokens.default_ttl", "must not be negative")
	}
	d := tk.UpstreamDefaults
	if d.DialTimeout < 0 {
		p.add("tokens.upstream_defaults.dial_timeout", "must not be negative")
	}
	d.TLS.validate(p, "tokens.upstream_defaults.tls")
	d.Auth.validate(p, "tokens.upstream_defaults.auth", d.TLS.Enabled)
	if (d.Auth.Mode == AuthPassword || d.Auth.Mode == AuthACL) && (!d.TLS.Enabled || d.TLS.InsecureSkipVerify) {
		// A token route goes to whatever address the token names within
		// allow_upstreams. Over plain TCP, or TLS that trusts any
		// certificate, whoever answers at such an address (a host taken
		// over, a spoofed address) receives the shared password in clear.
		p.add("tokens.upstream_defaults.auth.mode", "password and acl logins on token routes need tls.enabled: true with certificate verification (insecure_skip_verify off): the shared password goes to every address the allow-list admits")
	}
}

// validKeyID: 1-32 of [A-Za-z0-9_-], as the signed token format allows.
func validKeyID(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r == '.' {
			return false
		}
	}
	return validName(s)
}
