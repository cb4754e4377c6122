package tenant

import (
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// BuildFrom reuses a tenant whose settings, upstream and isolation did not
// change, and builds anew the one that changed.
func TestBuildFromReuses(t *testing.T) {
	three, four := 3, 4
	snap := func(bRole string) *model.Snapshot {
		return model.Merge([]model.SourcePart{{Source: model.SourceStore, Part: model.Part{
			Upstreams: map[string]model.Upstream{"main": {Address: "127.0.0.1:6379", MaxDB: 15}},
			Tenants: []model.Tenant{
				{Name: "a", Upstream: "main", DB: &three, Role: model.RoleReadWrite, Credentials: []model.Credential{{ID: "x", Digest: [32]byte{1}}}},
				{Name: "b", Upstream: "main", DB: &four, Role: bRole, Credentials: []model.Credential{{ID: "x", Digest: [32]byte{2}}}},
			}}}}, model.Checks{})
	}
	d1, err := Build(snap(model.RoleReadWrite), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := BuildFrom(d1, snap(model.RoleReadOnly), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := d1.Lookup("a")
	a2, _ := d2.Lookup("a")
	b1, _ := d1.Lookup("b")
	b2, _ := d2.Lookup("b")
	if a1 != a2 {
		t.Error("the unchanged tenant was rebuilt")
	}
	if b1 == b2 || b2.Route.Role != model.RoleReadOnly {
		t.Errorf("the changed tenant was reused: role %s", b2.Route.Role)
	}
	if a2.Route.Target != b2.Route.Target {
		t.Error("the unchanged upstream's target was rebuilt")
	}
}
