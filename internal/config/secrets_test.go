package config

import (
	"strings"
	"testing"
)

// No error may contain a secret value: errors are printed by `redoubt
// check`, logged on reload and shown in CI. Every broken config of the
// rule table, plus secrets typed into the wrong place, is checked against
// every secret value in play.
func TestErrorsNeverContainSecrets(t *testing.T) {
	f := writeTLSFiles(t)
	secrets := []string{}
	for _, v := range validEnv() {
		secrets = append(secrets, v)
	}
	const typed = "Typed-S3cret-Value" // a secret written into the file by mistake
	secrets = append(secrets, typed, "hunter2", "short-key-V4lu3", alicePlain)

	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("config accepted; the case does not test anything")
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error contains secret %q:\n%v", s, err)
			}
		}
	}

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
			check(t, err)
		})
	}

	misplaced := []struct {
		desc string
		old  string
		new  string
	}{
		{"secret as password_env", "password_env: REDIS_PASSWORD}", "password_env: " + typed + "}"},
		{"secret as secret_env", "secret_env: CAROL_SECRET", "secret_env: " + typed},
		{"plain secret as secret_sha256", `secret_sha256: "`, `secret_sha256: "` + alicePlain},
		{"secret in an upstream address", "address: 127.0.0.1:6379", "address: proxy:" + typed + "@127.0.0.1:6379"},
		{"secret in a redis URL", "address: 127.0.0.1:6379", "address: rediss://:" + typed + "@127.0.0.1:6379"},
		{"secret in a number", "max_connections: 1000", "max_connections: " + typed},
		{"password key instead of password_env", "password_env: REDIS_PASSWORD}", "password: " + typed + "}"},
		{"secret key instead of secret_env", "secret_env: CAROL_SECRET", "secret: " + typed},
		{"secret as a token key id", "id: k1", "id: " + typed + "!"},
		{"secret as an allow_upstreams entry", `"127.0.0.1:*"`, `"` + typed + `@127.0.0.1:*"`},
	}
	for _, tt := range misplaced {
		t.Run(tt.desc, func(t *testing.T) {
			text := validConfigText(f)
			if !strings.Contains(text, tt.old) {
				t.Fatalf("example lacks %q", tt.old)
			}
			text = strings.Replace(text, tt.old, tt.new, 1)
			_, err := Parse([]byte(text), validEnv().lookup)
			check(t, err)
		})
	}
}
