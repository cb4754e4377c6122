package model

import (
	"strings"
	"testing"
)

// Limits are validated with every tenant (the API's PUT and Merge give the
// same answers as `redoubt check` for a file), and the first source with
// tenant defaults gives them.
func TestLimits(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	db := 2
	ups := map[string]Upstream{"main": {Address: "127.0.0.1:6379", MaxDB: 15}}
	for _, tc := range []struct {
		desc string
		t    Tenant
		want string // "" = valid
	}{
		{"own limits, db", Tenant{Name: "a", Upstream: "main", DB: &db, Role: RoleReadWrite,
			Limits: Limits{MaxOpsPerSecond: i64(10), MaxKeys: i64(5), MaxMemoryBytes: i64(0)}}, ""},
		{"negative", Tenant{Name: "a", Upstream: "main", DB: &db, Role: RoleReadWrite, Limits: Limits{MaxOffset: i64(-1)}},
			"max_offset: must not be negative"},
		{"quota without db", Tenant{Name: "a", Upstream: "main", Role: RoleReadWrite, Limits: Limits{MaxKeys: i64(5)}},
			"quotas of a DB-pinned tenant"},
		{"exempting from a quota without db", Tenant{Name: "a", Upstream: "main", Role: RoleReadWrite, Limits: Limits{MaxKeys: i64(0)}}, ""},
		{"pass-through", Tenant{Name: "a", Upstream: "main", Role: RoleFull, Limits: Limits{MaxOpsPerSecond: i64(0)}},
			"need an inspected session"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var got []string
			for _, fe := range ValidateTenant(&tc.t, ups, Checks{}) {
				got = append(got, fe.Error())
			}
			all := strings.Join(got, "; ")
			if (tc.want == "") != (all == "") || !strings.Contains(all, tc.want) {
				t.Fatalf("got %q, want %q", all, tc.want)
			}
		})
	}

	file := Part{Upstreams: ups, TenantDefaults: &Limits{MaxOpsPerSecond: i64(100), MaxKeys: i64(7)},
		Tenants: []Tenant{
			{Name: "pinned", Upstream: "main", DB: &db, Role: RoleReadWrite, Limits: Limits{MaxOpsPerSecond: i64(0)}},
		}}
	other := Part{TenantDefaults: &Limits{MaxOpsPerSecond: i64(1)}}
	s := Merge([]SourcePart{{SourceFile, file}, {SourceStore, other}}, Checks{})
	if len(s.Problems) != 1 || s.Problems[0].Entry != "limits.tenant_defaults" {
		t.Fatalf("problems: %v", s.Problems)
	}
	p, _ := s.Tenant("pinned")
	if got, want := s.EffectiveLimits(p), (EffectiveLimits{Keys: 7}); got != want {
		t.Errorf("effective: %+v, want %+v", got, want)
	}
	// Clone shares no limit with the original.
	c := p.Clone()
	*c.Limits.MaxOpsPerSecond = 9
	if *p.Limits.MaxOpsPerSecond != 0 {
		t.Error("Clone shares the limits")
	}
}
