package tenant

import (
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/model"
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
	d, err := Build(snapOf(cfg), nil, nil)
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

// An incremental rebuild keeps a tenant whose limits did not change and
// rebuilds one whose own limits, or whose defaults, changed: a reload or
// an API write that only changes limits takes effect.
func TestBuildFromLimits(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	db1, db2 := 1, 2
	snap := func(defaultOps int64, aValue *int64) *model.Snapshot {
		return model.Merge([]model.SourcePart{{Source: model.SourceStore, Part: model.Part{
			Upstreams:      map[string]model.Upstream{"shared": {Address: "127.0.0.1:6379", MaxDB: 15}},
			TenantDefaults: &model.Limits{MaxOpsPerSecond: i64(defaultOps)},
			Tenants: []model.Tenant{
				{Name: "a", Upstream: "shared", DB: &db1, Role: model.RoleReadWrite, Limits: model.Limits{MaxValueBytes: aValue}},
				{Name: "b", Upstream: "shared", DB: &db2, Role: model.RoleReadWrite, Limits: model.Limits{MaxOpsPerSecond: i64(7)}},
			},
		}}}, model.Checks{})
	}
	first, err := Build(snap(100, i64(10)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(d *Directory, name string) *Tenant {
		tn, ok := d.Lookup(name)
		if !ok {
			t.Fatalf("no tenant %s", name)
		}
		return tn
	}
	for _, tc := range []struct {
		desc       string
		snap       *model.Snapshot
		wantA      limit.Limits
		aReused    bool
		bReused    bool
		wantBLimit limit.Limits
	}{
		{"nothing changed", snap(100, i64(10)), limit.Limits{OpsPerSecond: 100, ValueBytes: 10}, true, true, limit.Limits{OpsPerSecond: 7}},
		{"own limit changed", snap(100, i64(0)), limit.Limits{OpsPerSecond: 100}, false, true, limit.Limits{OpsPerSecond: 7}},
		{"default changed", snap(50, i64(10)), limit.Limits{OpsPerSecond: 50, ValueBytes: 10}, false, true, limit.Limits{OpsPerSecond: 7}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if len(tc.snap.Problems) > 0 {
				t.Fatal(tc.snap.Problems)
			}
			d, err := BuildFrom(first, tc.snap, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			a, b := get(d, "a"), get(d, "b")
			if a.Route.Limits != tc.wantA || b.Route.Limits != tc.wantBLimit {
				t.Errorf("limits a %+v b %+v, want %+v %+v", a.Route.Limits, b.Route.Limits, tc.wantA, tc.wantBLimit)
			}
			if (a == get(first, "a")) != tc.aReused || (b == get(first, "b")) != tc.bReused {
				t.Errorf("reused a=%v b=%v, want %v %v", a == get(first, "a"), b == get(first, "b"), tc.aReused, tc.bReused)
			}
		})
	}
}
