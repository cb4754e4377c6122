package tenant

import (
	"context"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

func tuSnapshot(bobPass string, managedMode string) *model.Snapshot {
	db := func(n int) *int { return &n }
	auth := model.UpstreamAuth{Mode: model.AuthPassword, Password: "admin-pass"}
	part := model.Part{
		Upstreams: map[string]model.Upstream{
			"man":   {Address: "127.0.0.1:1", Auth: auth, MaxDB: 15, TenantUsers: managedMode},
			"prov":  {Address: "127.0.0.1:2", Auth: auth, MaxDB: 15, TenantUsers: model.TenantUsersProvided},
			"plain": {Address: "127.0.0.1:3", Auth: auth, MaxDB: 15},
		},
		Tenants: []model.Tenant{
			{Name: "alice", Upstream: "man", DB: db(3), Role: model.RoleReadWrite},
			{Name: "bob", Upstream: "prov", DB: db(3), Role: model.RoleReadWrite, UpstreamUser: "app-bob", UpstreamPassword: bobPass},
			{Name: "eve", Upstream: "plain", DB: db(3), Role: model.RoleReadWrite},
		},
	}
	s := model.Merge([]model.SourcePart{{Source: model.SourceFile, Part: part}}, model.Checks{})
	if len(s.Problems) > 0 {
		panic(s.Problems[0].Error())
	}
	return s
}

func login(t *testing.T, r *Route) string {
	t.Helper()
	if r.Target.Creds == nil {
		return ""
	}
	u, p, err := r.Target.Creds.Credentials(context.Background())
	if err != nil {
		t.Fatalf("credentials of %s: %v", r.Target.Name, err)
	}
	return u + ":" + p
}

// Tenants of an upstream with tenant_users log in as their own user, on a
// copy of the upstream's target (same name and address); the upstream's
// own login stays the directory's target for managing the users. A
// rebuild reuses a tenant only when its upstream login is unchanged.
func TestBuildTenantUsers(t *testing.T) {
	managed := func(address, tenant string) upstream.Credentials {
		return upstream.StaticCredentials{User: "redoubt-" + tenant, Pass: "managed@" + address}
	}
	d, err := BuildWith(tuSnapshot("bob-pass", model.TenantUsersManaged), Options{Managed: managed})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenant, login string
		tenantUser    bool
	}{
		{"alice", "redoubt-alice:managed@127.0.0.1:1", true},
		{"bob", "app-bob:bob-pass", true},
		{"eve", ":admin-pass", false},
	} {
		r := d.byName[tc.tenant].Route
		if got := login(t, r); got != tc.login || r.TenantUser != tc.tenantUser {
			t.Errorf("%s logs in as %q (tenant user %v), want %q (%v)", tc.tenant, got, r.TenantUser, tc.login, tc.tenantUser)
		}
		up, _ := d.Target(r.Target.Name)
		if r.Target.Address != up.Address || login(t, &Route{Target: up}) != ":admin-pass" {
			t.Errorf("%s: upstream target %s (%s) does not keep the upstream's login", tc.tenant, up.Name, up.Address)
		}
	}
	// Without Managed (redoubt check), a managed tenant keeps the upstream's login, scripts refused.
	if d, err := BuildWith(tuSnapshot("bob-pass", model.TenantUsersManaged), Options{}); err != nil || d.byName["alice"].Route.TenantUser {
		t.Errorf("alice without a manager: %v", err)
	}

	// A new provided password rebuilds bob only; his route is the same for live sessions.
	d2, err := BuildWith(tuSnapshot("bob-pass-2", model.TenantUsersManaged), Options{Prev: d, Managed: managed})
	if err != nil {
		t.Fatal(err)
	}
	if d2.byName["alice"] != d.byName["alice"] || d2.byName["bob"] == d.byName["bob"] {
		t.Error("reuse: alice should be reused and bob rebuilt")
	}
	if got := login(t, d2.byName["bob"].Route); got != "app-bob:bob-pass-2" {
		t.Errorf("bob after the change logs in as %q", got)
	}
	// tenant_users switched off: alice's live sessions end (their route allowed scripts).
	d3, err := BuildWith(tuSnapshot("bob-pass-2", ""), Options{Prev: d2, Managed: managed})
	if err != nil {
		t.Fatal(err)
	}
	id := &Identity{Tenant: "alice", Route: d2.byName["alice"].Route, Method: "mtls"}
	if d3.byName["alice"].Route.TenantUser {
		t.Error("alice kept a tenant user after tenant_users went")
	}
	if ok, why := d3.Check(id); ok || why != "route changed" {
		t.Errorf("alice's session after tenant_users went: %v %q", ok, why)
	}
}
