package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
)

// SecretDigest is how tenant secrets are stored and compared: the SHA-256
// of the secret. Secrets are high-entropy values, so a fast hash suffices.
func SecretDigest(secret string) [32]byte {
	return sha256.Sum256([]byte(secret))
}

// MinTokenKeyLen is the shortest HMAC key accepted for signed tokens: 256
// bits, the output size of HMAC-SHA256.
const MinTokenKeyLen = 32

// Resolve fills the fields tagged yaml:"-" from the *_env variables named
// in the file, through lookupEnv (os.LookupEnv outside tests), and decodes
// secret_sha256 into Tenant.SecretDigest. It reports every variable that is
// missing or empty, naming the variable and never a value.
//
// Settings that Validate rejects anyway (both secret_sha256 and
// secret_env, a password_env in mode none) are skipped here, so one mistake
// gives one message.
func (c *Config) Resolve(lookupEnv func(string) (string, bool)) error {
	var p problems
	for _, name := range c.upstreamNames() {
		u := c.Upstreams[name]
		u.Auth.resolve(&p, "upstreams."+name+".auth", lookupEnv)
		c.Upstreams[name] = u
	}
	c.Tokens.UpstreamDefaults.Auth.resolve(&p, "tokens.upstream_defaults.auth", lookupEnv)

	for i := range c.Tenants {
		t := &c.Tenants[i]
		path := fmt.Sprintf("tenants[%d]", i)
		switch {
		case t.SecretSHA256 != "" && t.SecretEnv != "":
			// ambiguous; Validate reports it
		case t.SecretSHA256 != "":
			if b, err := hex.DecodeString(t.SecretSHA256); err == nil && len(b) == sha256.Size {
				copy(t.SecretDigest[:], b)
			} // else Validate reports the syntax
		case t.SecretEnv != "":
			if v, ok := lookupSecret(&p, path+".secret_env", t.SecretEnv, lookupEnv); ok {
				t.SecretDigest = SecretDigest(v)
			}
		}
		if t.UpstreamPasswordEnv != "" {
			if v, ok := lookupSecret(&p, path+".upstream_password_env", t.UpstreamPasswordEnv, lookupEnv); ok {
				t.UpstreamPassword = v
			}
		}
	}

	for i := range c.Tokens.Keys {
		k := &c.Tokens.Keys[i]
		if k.SecretEnv == "" {
			continue // Validate reports it
		}
		if v, ok := lookupSecret(&p, fmt.Sprintf("tokens.keys[%d].secret_env", i), k.SecretEnv, lookupEnv); ok {
			k.Secret = []byte(v) // Validate checks the length
		}
	}
	if c.Tokens.LegacySecretEnv != "" {
		if v, ok := lookupSecret(&p, "tokens.legacy_secret_env", c.Tokens.LegacySecretEnv, lookupEnv); ok {
			c.Tokens.LegacySecret = v
		}
	}
	c.resolveControlPlane(&p, lookupEnv)
	c.resolveBroker(&p, lookupEnv)
	return p.err()
}

func (a *UpstreamAuth) resolve(p *problems, path string, lookupEnv func(string) (string, bool)) {
	if a.PasswordEnv == "" || (a.Mode != AuthPassword && a.Mode != AuthACL) {
		return
	}
	if v, ok := lookupSecret(p, path+".password_env", a.PasswordEnv, lookupEnv); ok {
		a.Password = v
	}
}

// lookupSecret returns the value of the variable env names. Values are
// used exactly as given (no trimming): a trailing newline is part of the
// secret as far as the upstream is concerned too.
func lookupSecret(p *problems, path, env string, lookupEnv func(string) (string, bool)) (string, bool) {
	if !validEnvName(env) {
		// Likely the secret itself was written where its variable's name
		// belongs: do not repeat it.
		p.add(path, "not a valid environment variable name (this key names the variable that holds the secret, not the secret itself)")
		return "", false
	}
	v, ok := lookupEnv(env)
	switch {
	case !ok:
		// The variable's name is not repeated either: a secret that happens
		// to look like a variable name (64 hex digits do) would be printed.
		p.add(path, "the environment variable this key names is not set")
		return "", false
	case v == "":
		p.add(path, "the environment variable this key names is empty")
		return "", false
	}
	return v, true
}

// validEnvName accepts POSIX shell variable names: [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// upstreamNames returns the upstream names sorted, so problems come out in
// the same order on every run.
func (c *Config) upstreamNames() []string {
	names := make([]string, 0, len(c.Upstreams))
	for n := range c.Upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
