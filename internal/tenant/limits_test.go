package tenant

import (
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/token"
)

// Limits travel on the route: a configured tenant's own and defaults; an
// inspected ad-hoc token route gets the rate and size defaults, no quota;
// a pass-through one nothing.
func TestRouteLimits(t *testing.T) {
	yaml := `
listen: [{address: 127.0.0.1:6380}]
upstreams: {shared: {address: 127.0.0.1:6379}}
limits: {tenant_defaults: {max_ops_per_second: 100, max_keys: 7}}
tenants:
  - {name: a, secret_env: S, upstream: shared, db: 1, max_value_bytes: 10}
  - {name: b, secret_env: S, upstream: shared, db: 2, max_ops_per_second: 0}
tokens: {keys: [{id: k1, secret_env: KEY}], allow_upstreams: ["127.0.0.1:*"]}
`
	env := map[string]string{"S": "a-tenant-secret-0123456789", "KEY": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"}
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]limit.Limits{
		"a": {OpsPerSecond: 100, ValueBytes: 10, Keys: 7},
		"b": {Keys: 7},
	} {
		tn, _ := d.Lookup(name)
		if tn.Route.Limits != want {
			t.Errorf("%s: %+v, want %+v", name, tn.Route.Limits, want)
		}
	}
	if n := len(d.Tenants()); n != 2 {
		t.Errorf("Tenants() has %d", n)
	}
	kr, err := Keyring([]config.TokenKey{{ID: "k1", Secret: []byte(env["KEY"])}})
	if err != nil {
		t.Fatal(err)
	}
	db := 3
	for _, tc := range []struct {
		desc   string
		claims token.Claims
		want   limit.Limits
	}{
		{"inspected ad-hoc route", token.Claims{Upstream: "127.0.0.1:7000", DB: &db}, limit.Limits{OpsPerSecond: 100}},
		{"pass-through ad-hoc route", token.Claims{Upstream: "127.0.0.1:7000"}, limit.Limits{}},
	} {
		tok, _, err := kr.Issue(tc.claims, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		id, err := d.Authenticate(nil, []byte(tok))
		if err != nil {
			t.Fatal(err)
		}
		if id.Route.Limits != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.desc, id.Route.Limits, tc.want)
		}
	}
}
