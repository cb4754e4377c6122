package config

import (
	"encoding/hex"
	"fmt"
	"time"
)

// validateControlPlane checks the admin API's authentication, the store
// and tenants' credentials lists.
func (c *Config) validateControlPlane(p *problems) {
	a := c.Admin
	if a.Address == "" {
		for _, k := range []struct{ key, v string }{{"token_env", a.TokenEnv}, {"client_ca_file", a.ClientCAFile}, {"cert_file", a.CertFile}} {
			if k.v != "" {
				p.add("admin."+k.key, "needs admin.address")
			}
		}
	}
	if (a.CertFile == "") != (a.KeyFile == "") {
		p.add("admin", "cert_file and key_file go together")
	} else if a.CertFile != "" {
		checkKeyPair(p, "admin", a.CertFile, a.KeyFile)
	}
	if a.ClientCAFile != "" {
		if a.CertFile == "" {
			p.add("admin.client_ca_file", "needs admin.cert_file and admin.key_file (mTLS runs over TLS)")
		}
		checkCAFile(p, "admin.client_ca_file", a.ClientCAFile)
	}
	for i := range c.Tenants {
		seen := map[string]int{}
		if c.Tenants[i].SecretSHA256 != "" || c.Tenants[i].SecretEnv != "" {
			seen["default"] = -1
		}
		for j, cr := range c.Tenants[i].Credentials {
			path := fmt.Sprintf("tenants[%d].credentials[%d]", i, j)
			switch first, dup := seen[cr.ID]; {
			case cr.ID == "":
				p.add(path+".id", "required")
			case !validName(cr.ID):
				p.add(path+".id", "may contain only letters, digits, '.', '_' and '-'")
			case dup && first < 0:
				p.add(path+".id", "the ID of the tenant's secret_env / secret_sha256 (default); choose another")
			case dup:
				p.add(path+".id", "duplicate credential ID (first at credentials[%d])", first)
			default:
				seen[cr.ID] = j
			}
			switch {
			case cr.SecretSHA256 != "" && cr.SecretEnv != "":
				p.add(path, "both secret_sha256 and secret_env are set; use one")
			case cr.SecretSHA256 != "":
				if b, err := hex.DecodeString(cr.SecretSHA256); err != nil || len(b) != 32 {
					p.add(path+".secret_sha256", "must be 64 hex digits, the SHA-256 of the secret (e.g. from: printf %%s \"$SECRET\" | sha256sum)")
				}
			case cr.SecretEnv == "":
				p.add(path, "needs secret_env or secret_sha256")
			}
			if cr.ExpiresAt != "" {
				if _, err := time.Parse(time.RFC3339, cr.ExpiresAt); err != nil {
					p.add(path+".expires_at", "not an RFC 3339 time (like 2027-01-01T00:00:00Z)")
				}
			}
		}
	}
}
