package config

import (
	"strings"
	"testing"
)

// The admin API is not throttled, so a short token could be guessed
// through it: check and serve refuse one, without printing it.
func TestAdminTokenTooShort(t *testing.T) {
	f := writeTLSFiles(t)
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{"Qz", false},
		{"fifteen-chars-Q", false},
		{"sixteen-chars-xx", true},
	} {
		c := validConfig(t, f)
		c.Admin.Address, c.Admin.TokenEnv = "127.0.0.1:9121", "ADMIN_TOKEN"
		env := validEnv()
		env["ADMIN_TOKEN"] = tc.token
		_, err := reparse(t, c, env)
		switch {
		case tc.ok && err != nil:
			t.Errorf("token of %d characters refused: %v", len(tc.token), err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "admin.token_env: the token must be at least 16")):
			t.Errorf("token of %d characters: %v", len(tc.token), err)
		case !tc.ok && strings.Contains(err.Error(), tc.token):
			t.Errorf("the error repeats the token: %v", err)
		}
	}
}
