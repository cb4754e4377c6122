package tenant

import (
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/token"
)

func tokenDirectory(t *testing.T, allow, keySecret string) *Directory {
	t.Helper()
	yaml := `
listen: [{address: 127.0.0.1:6380}]
tokens:
  keys: [{id: k1, secret_env: KEY}]
  legacy_secret_env: LEGACY
  allow_upstreams: ["` + allow + `"]
`
	env := map[string]string{"KEY": keySecret, "LEGACY": "legacy-secret"}
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(snapOf(cfg), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A live session of an ad-hoc route (signed or legacy) ends when a reload
// no longer allows the route or changes the secret that verified it, and
// survives a reload that changes neither.
func TestTokenSessionsAfterReload(t *testing.T) {
	key := strings.Repeat("k", 40)
	before := tokenDirectory(t, "127.0.0.1:*", key)
	kr, err := Keyring([]config.TokenKey{{ID: "k1", Secret: []byte(key)}})
	if err != nil {
		t.Fatal(err)
	}
	signed, _, err := kr.Issue(token.Claims{Upstream: "127.0.0.1:7000"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, cred string
	}{
		{"ad-hoc signed token", signed},
		{"legacy token", token.Legacy("127.0.0.1:7000", "legacy-secret")},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			id, err := before.Authenticate(nil, []byte(tc.cred))
			if err != nil || !id.AdHoc {
				t.Fatalf("login: %+v, %v", id, err)
			}
			if !tokenDirectory(t, "127.0.0.1:*", key).StillValid(id) {
				t.Fatal("an unchanged reload ended the session")
			}
			if tokenDirectory(t, "10.0.0.0/8:*", key).StillValid(id) {
				t.Fatal("the session survived its route leaving allow_upstreams")
			}
		})
	}
	id, _ := before.Authenticate(nil, []byte(signed))
	if tokenDirectory(t, "127.0.0.1:*", strings.Repeat("n", 40)).StillValid(id) {
		t.Fatal("the session survived a new secret for its signing key")
	}
}
