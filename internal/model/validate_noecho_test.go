package model

import (
	"strings"
	"testing"
)

// A value typed into the wrong field of an admin API request (a secret
// pasted as a role, an upstream or a rule) must not come back in the
// refusal: the API writes refusals to its audit log. Each string field of
// a store tenant is replaced in turn by a canary, and no message of
// ValidateTenant or of Merge may contain it (check's config messages obey
// the same rule).
func TestValidationNeverEchoesAValue(t *testing.T) {
	const canary = "Zq9sekritCANARYvalue"
	base := func() Tenant {
		return Tenant{Name: "x", Upstream: "main", DB: db(3), Role: RoleReadWrite,
			Credentials: []Credential{{ID: "a", Digest: [32]byte{1}}}}
	}
	for _, tc := range []struct {
		field string
		set   func(*Tenant)
	}{
		{"upstream", func(t *Tenant) { t.Upstream = canary }},
		{"role", func(t *Tenant) { t.Role = canary }},
		{"commands", func(t *Tenant) { t.Commands = canary }},
		{"commands, second rule", func(t *Tenant) { t.Commands = "+get " + canary }},
		{"credential id", func(t *Tenant) {
			t.Credentials = append(t.Credentials, Credential{ID: canary, Digest: [32]byte{2}}, Credential{ID: canary, Digest: [32]byte{3}})
		}},
		{"credential id, odd characters", func(t *Tenant) { t.Credentials[0].ID = canary + " !" }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			tn := base()
			tc.set(&tn)
			errs := ValidateTenant(&tn, ups("main", "127.0.0.1:6379"), Checks{})
			if len(errs) == 0 {
				t.Fatalf("not refused: %+v", tn)
			}
			for _, e := range errs {
				if strings.Contains(e.Error(), "CANARY") {
					t.Errorf("refusal repeats the value: %s", e.Error())
				}
			}
			s := Merge([]SourcePart{{SourceFile, Part{Upstreams: ups("main", "127.0.0.1:6379")}}, {SourceStore, Part{Tenants: []Tenant{tn}}}}, Checks{})
			if p := problems(s); !strings.Contains(p, "tenant x") || strings.Contains(p, "CANARY") {
				t.Errorf("merge problems: %s", p)
			}
		})
	}
}
