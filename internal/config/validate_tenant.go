package config

import (
	"encoding/hex"
	"fmt"
)

func (c *Config) validateTenants(p *problems, h Hooks) {
	seen := map[string]int{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		path := fmt.Sprintf("tenants[%d]", i)
		switch {
		case t.Name == "":
			p.add(path+".name", "required")
		case !validName(t.Name):
			p.add(path+".name", "may contain only letters, digits, '.', '_' and '-'")
		default:
			if first, dup := seen[t.Name]; dup {
				p.add(path+".name", "duplicate tenant %q (first defined at tenants[%d])", t.Name, first)
			} else {
				seen[t.Name] = i
			}
		}
		c.validateTenantSecret(p, path, t)

		u, upOK := c.Upstreams[t.Upstream]
		switch {
		case t.Upstream == "":
			p.add(path+".upstream", "required")
		case !upOK:
			p.add(path+".upstream", "unknown upstream %q", t.Upstream)
		}

		switch t.Role {
		case RoleFull, RoleReadWrite, RoleReadOnly:
		default:
			p.add(path+".role", "unknown role %q (want full, readwrite or readonly)", t.Role)
		}

		if t.DB != nil {
			maxDB := DefaultMaxDB
			if upOK && u.MaxDB != nil {
				maxDB = *u.MaxDB
			}
			switch {
			case *t.DB < 0 || *t.DB > maxDB:
				hint := ""
				if upOK {
					hint = fmt.Sprintf(" (set upstreams.%s.max_db to allow more)", t.Upstream)
				}
				p.add(path+".db", "%d out of range 0..%d%s", *t.DB, maxDB, hint)
			case *t.DB != 0 && upOK && u.Auth.Mode == AuthAWSIAM && u.Auth.Serverless:
				p.add(path+".db", "%d, but upstream %q is ElastiCache Serverless, which has DB 0 only", *t.DB, t.Upstream)
			}
		}

		if t.Role == RoleFull && t.DB == nil && upOK {
			if other, sameAddr, shared := c.sharedWith(t.Upstream, i); shared {
				why := fmt.Sprintf("has the same address as upstream %q", sameAddr)
				if other != "" {
					why = fmt.Sprintf("is shared with tenant %q", other)
				}
				p.add(path+".role", "role full without db needs an upstream of its own; upstream %q %s", t.Upstream, why)
			}
		}

		if err := checkCommandsSyntax(t.Commands); err != nil {
			p.add(path+".commands", "%v", err)
		} else if h.Commands != nil && t.Commands != "" {
			if err := h.Commands(t.Commands); err != nil {
				p.add(path+".commands", "%v", err)
			}
		}
	}
}

// validateTenantSecret checks how t proves its identity: exactly one of
// secret_sha256 and secret_env, or neither when a listener verifies client
// certificates (mTLS).
func (c *Config) validateTenantSecret(p *problems, path string, t *Tenant) {
	switch {
	case t.SecretSHA256 != "" && t.SecretEnv != "":
		p.add(path, "both secret_sha256 and secret_env are set; use one")
	case t.SecretSHA256 != "":
		// The value is not echoed: a user may have pasted the secret itself.
		if b, err := hex.DecodeString(t.SecretSHA256); err != nil || len(b) != 32 {
			p.add(path+".secret_sha256", "must be 64 hex digits, the SHA-256 of the secret (e.g. from: printf %%s \"$SECRET\" | sha256sum)")
		}
	case t.SecretEnv != "":
		// Resolve checks the variable.
	case len(t.Credentials) > 0:
		// validateControlPlane checks each
	case t.SecretDigest != [32]byte{}:
		// Set by code that builds a Config without a file.
	case !c.hasMTLSListener():
		p.add(path, "no secret_sha256 or secret_env, and no listener has tls.client_ca_file to identify the tenant by certificate")
	}
}
