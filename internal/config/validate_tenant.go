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
				p.add(path+".name", "duplicate of tenants[%d].name", first)
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
			p.add(path+".upstream", "names no entry of upstreams")
		}

		switch t.Role {
		case RoleFull, RoleReadWrite, RoleReadOnly, RoleReadWriteStrict:
		default:
			p.add(path+".role", "unknown role (want full, readwrite, readwrite-strict or readonly)")
		}
		c.validateTenantUser(p, path, t)

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
				p.add(path+".db", "out of range 0..%d%s", maxDB, hint)
			case *t.DB != 0 && upOK && u.Auth.Mode == AuthAWSIAM && u.Auth.Serverless:
				p.add(path+".db", "must be 0: upstreams.%s is ElastiCache Serverless, which has DB 0 only", t.Upstream)
			}
		}

		if t.Role == RoleFull && t.DB == nil && upOK {
			if other, sameAddr, shared := c.sharedWith(t.Upstream, i); shared {
				// Upstream names are keys of the file; tenants are named by
				// their index, not by the value of their name.
				why := fmt.Sprintf("has the same address as upstreams.%s", sameAddr)
				if other != "" {
					why = fmt.Sprintf("is shared with tenants[%d]", c.tenantIndex(other))
				}
				p.add(path+".role", "role full without db needs an upstream of its own; upstreams.%s %s", t.Upstream, why)
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

// tenantIndex returns the index of the first tenant called name, or -1.
func (c *Config) tenantIndex(name string) int {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			return i
		}
	}
	return -1
}
