package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// A plan with a credential lifetime tells the platform when each binding
// expires; an upstream with no free DB left refuses a provision with a
// clear error and no change, and takes one again once a DB is emptied.
func TestSharedLifetimeAndCapacity(t *testing.T) {
	h := newHarness(t) // upstream main has DBs 1..3 for instances
	prov := func(plan string) string {
		return `{"service_id":"` + svcID + `","plan_id":"` + plan + `"}`
	}
	h.must(t, 201, "PUT", "/v2/service_instances/exp", prov(shared2ID))
	res := h.must(t, 201, "PUT", "/v2/service_instances/exp/service_bindings/b", prov(shared2ID))
	md, _ := res.body["metadata"].(map[string]any)
	exp, err := time.Parse(time.RFC3339, md["expires_at"].(string))
	if err != nil || exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("expires_at: %s (%v)", res.raw, err)
	}
	tn, _ := h.plane.Current().Snapshot.Tenant("osb-exp")
	if len(tn.Credentials) != 1 || !tn.Credentials[0].ExpiresAt.Truncate(time.Second).Equal(exp) {
		t.Fatalf("credential expiry %v, answer %v", tn.Credentials, exp)
	}

	h.must(t, 201, "PUT", "/v2/service_instances/two", prov(sharedID))
	h.must(t, 201, "PUT", "/v2/service_instances/three", prov(sharedID))
	before := h.fingerprint(t)
	res = h.do(t, request{method: "PUT", path: "/v2/service_instances/four", body: prov(sharedID)})
	if res.status != 422 || !strings.Contains(res.raw, "no free database") {
		t.Fatalf("full upstream: %d %s", res.status, res.raw)
	}
	if h.fingerprint(t) != before {
		t.Fatal("a refused provision changed the state")
	}
	h.must(t, 200, "DELETE", "/v2/service_instances/two?service_id="+svcID+"&plan_id="+sharedID, "")
	h.must(t, 201, "PUT", "/v2/service_instances/four", prov(sharedID))
	if in, _ := h.b.state.Get("four"); in.DB != 2 {
		t.Fatalf("four got DB %d, want the emptied DB 2", in.DB)
	}
}

// A deprovision whose FLUSHDB fails keeps the DB reserved (never handed
// out dirty) and can be retried.
func TestSharedDeprovisionKeepsDBWhenFlushFails(t *testing.T) {
	h := newHarness(t)
	prov := `{"service_id":"` + svcID + `","plan_id":"` + sharedID + `"}`
	h.must(t, 201, "PUT", "/v2/service_instances/a", prov)
	h.must(t, 201, "PUT", "/v2/service_instances/a/service_bindings/b", prov)
	h.up.Stop() // the upstream is down
	h.must(t, 500, "DELETE", "/v2/service_instances/a?service_id="+svcID+"&plan_id="+sharedID, "")
	if _, ok := h.b.state.Get("a"); !ok {
		t.Fatal("record gone although the DB was not emptied")
	}
	if db, ok := h.b.freeDB("main", nil); !ok || db == 1 {
		t.Fatalf("DB 1 handed out again before it was emptied (free: %d %v)", db, ok)
	}
	if tn, ok := h.plane.Current().Snapshot.Tenant("osb-a"); !ok || len(tn.Credentials) != 0 {
		t.Fatalf("the instance's credentials survived the failed deprovision: %+v", tn)
	}
}

// A DB a file tenant uses through another upstream name for the same
// server is not handed out.
func TestSharedSkipsDBsUsedUnderAnotherName(t *testing.T) {
	one := 1
	h := newHarness(t, model.Tenant{Name: "filer", Upstream: "alias", DB: &one, Role: model.RoleReadWrite})
	h.must(t, 201, "PUT", "/v2/service_instances/a", `{"service_id":"`+svcID+`","plan_id":"`+sharedID+`"}`)
	if in, _ := h.b.state.Get("a"); in.DB != 2 {
		t.Fatalf("instance got DB %d; DB 1 is the file tenant's", in.DB)
	}
}

// An instance whose tenant name a file tenant already has is a conflict,
// and the file tenant is untouched.
func TestSharedTenantNameOwnedByFile(t *testing.T) {
	one := 1
	h := newHarness(t, model.Tenant{Name: "osb-taken", Upstream: "main", DB: &one, Role: model.RoleReadOnly})
	before := h.fingerprint(t)
	res := h.do(t, request{method: "PUT", path: "/v2/service_instances/taken", body: `{"service_id":"` + svcID + `","plan_id":"` + sharedID + `"}`})
	if res.status != 409 || !strings.Contains(res.raw, "defined by source file") {
		t.Fatalf("%d %s", res.status, res.raw)
	}
	if h.fingerprint(t) != before {
		t.Fatal("state changed")
	}
	if tn, _ := h.plane.Current().Snapshot.Tenant("osb-taken"); tn.Role != model.RoleReadOnly || tn.Source != model.SourceFile {
		t.Fatalf("file tenant changed: %+v", tn)
	}
}
