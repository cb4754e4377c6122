package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// MinAdminTokenLen is the shortest admin API token accepted.
const MinAdminTokenLen = 16

// resolveControlPlane resolves the control plane's secrets: the admin
// API token and the digests and expiry of tenants' credentials.
func (c *Config) resolveControlPlane(p *problems, lookupEnv func(string) (string, bool)) {
	if c.Admin.TokenEnv != "" {
		if v, ok := lookupSecret(p, "admin.token_env", c.Admin.TokenEnv, lookupEnv); ok {
			c.Admin.Token = v
			// The admin API has no login throttle: only the token's
			// length stands between a caller and every tenant.
			if len(v) < MinAdminTokenLen {
				p.add("admin.token_env", "the token must be at least %d characters (generate one with: openssl rand -hex 32)", MinAdminTokenLen)
			}
		}
	}
	for i := range c.Tenants {
		for j := range c.Tenants[i].Credentials {
			cr := &c.Tenants[i].Credentials[j]
			path := fmt.Sprintf("tenants[%d].credentials[%d]", i, j)
			switch {
			case cr.SecretSHA256 != "" && cr.SecretEnv != "":
				// Validate reports it
			case cr.SecretSHA256 != "":
				if b, err := hex.DecodeString(cr.SecretSHA256); err == nil && len(b) == sha256.Size {
					copy(cr.Digest[:], b)
				}
			case cr.SecretEnv != "":
				if v, ok := lookupSecret(p, path+".secret_env", cr.SecretEnv, lookupEnv); ok {
					cr.Digest = SecretDigest(v)
				}
			}
			if cr.ExpiresAt != "" {
				if t, err := time.Parse(time.RFC3339, cr.ExpiresAt); err == nil {
					cr.Expires = t
				}
			}
		}
	}
}
