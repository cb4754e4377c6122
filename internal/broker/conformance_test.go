package broker

import (
	"encoding/json"
	"strings"
	"testing"
)

// The OSB v2.17 request shapes, every endpoint and its documented error
// cases, as a platform sends them. Rows marked unchanged must leave the
// broker's records and the snapshot's tenants exactly as they were.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	q := "?service_id=" + svcID + "&plan_id=" + sharedID
	prov := func(plan, params string) string {
		s := `{"service_id":"` + svcID + `","plan_id":"` + plan + `","organization_guid":"org","space_guid":"space"`
		if params != "" {
			s += `,"parameters":` + params
		}
		return s + "}"
	}
	bind := `{"service_id":"` + svcID + `","plan_id":"` + sharedID + `","app_guid":"app-1"}`
	inst, bnd := "/v2/service_instances/i-1", "/v2/service_instances/i-1/service_bindings/b-1"
	h.must(t, 201, "PUT", inst, prov(sharedID, ""))
	h.must(t, 201, "PUT", bnd, bind)

	tests := []struct {
		desc      string
		req       request
		status    int
		contains  string // in the body
		unchanged bool
	}{
		// Authentication and version, on every endpoint.
		{desc: "catalog", req: request{method: "GET", path: "/v2/catalog"}, status: 200, contains: `"plan_updateable"`, unchanged: true},
		{desc: "no auth", req: request{method: "GET", path: "/v2/catalog", user: "-"}, status: 401, unchanged: true},
		{desc: "wrong password", req: request{method: "GET", path: "/v2/catalog", user: user, pass: "nope"}, status: 401, unchanged: true},
		{desc: "wrong user", req: request{method: "GET", path: "/v2/catalog", user: "root", pass: pass}, status: 401, unchanged: true},
		{desc: "no auth on provision", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(sharedID, ""), user: "-"}, status: 401, unchanged: true},
		{desc: "no auth on unbind", req: request{method: "DELETE", path: bnd + q, user: "-"}, status: 401, unchanged: true},
		{desc: "no version header", req: request{method: "GET", path: "/v2/catalog", version: "-"}, status: 412, unchanged: true},
		{desc: "version 1.x", req: request{method: "GET", path: "/v2/catalog", version: "1.13"}, status: 412, unchanged: true},
		{desc: "version 2.12", req: request{method: "GET", path: "/v2/catalog", version: "2.12"}, status: 412, unchanged: true},
		{desc: "version not a number", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(sharedID, ""), version: "two"}, status: 412, unchanged: true},

		// Provision.
		{desc: "provision malformed JSON", req: request{method: "PUT", path: "/v2/service_instances/x", body: `{"service_id":`}, status: 400, contains: "MalformedRequest", unchanged: true},
		{desc: "provision no service_id", req: request{method: "PUT", path: "/v2/service_instances/x", body: `{"plan_id":"` + sharedID + `"}`}, status: 400, unchanged: true},
		{desc: "provision no plan_id", req: request{method: "PUT", path: "/v2/service_instances/x", body: `{"service_id":"` + svcID + `"}`}, status: 400, unchanged: true},
		{desc: "provision unknown service", req: request{method: "PUT", path: "/v2/service_instances/x", body: `{"service_id":"nope","plan_id":"` + sharedID + `"}`}, status: 400, unchanged: true},
		{desc: "provision unknown plan", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov("nope", "")}, status: 400, unchanged: true},
		{desc: "provision plan of another service", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(otherPlanID, "")}, status: 400, contains: "not a plan of service_id", unchanged: true},
		{desc: "provision unknown parameter", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(sharedID, `{"size":"xl"}`)}, status: 400, contains: `parameter \"size\"`, unchanged: true},
		{desc: "provision parameter not for shared", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(sharedID, `{"maxmemory_policy":"allkeys-lru"}`)}, status: 400, contains: "maxmemory_policy", unchanged: true},
		{desc: "provision invalid parameter value", req: request{method: "PUT", path: "/v2/service_instances/x?accepts_incomplete=true", body: prov(smallID, `{"maxmemory_policy":"evict-everything"}`)}, status: 400, contains: "maxmemory_policy", unchanged: true},
		{desc: "provision bad maintenance window", req: request{method: "PUT", path: "/v2/service_instances/x?accepts_incomplete=true", body: prov(smallID, `{"preferred_maintenance_window":"sunday"}`)}, status: 400, contains: "preferred_maintenance_window", unchanged: true},
		{desc: "provision parameters not an object", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(sharedID, `[1]`)}, status: 400, unchanged: true},
		{desc: "provision async plan without accepts_incomplete", req: request{method: "PUT", path: "/v2/service_instances/x", body: prov(smallID, "")}, status: 422, contains: "AsyncRequired", unchanged: true},
		{desc: "provision bad instance ID", req: request{method: "PUT", path: "/v2/service_instances/x%20y", body: prov(sharedID, "")}, status: 400, unchanged: true},
		{desc: "provision again, same request", req: request{method: "PUT", path: inst, body: prov(sharedID, "")}, status: 200, unchanged: true},
		{desc: "provision again, other plan", req: request{method: "PUT", path: inst, body: prov(shared2ID, "")}, status: 409, unchanged: true},
		{desc: "provision again, other parameters", req: request{method: "PUT", path: inst, body: prov(sharedID, `{}`)}, status: 409, unchanged: true},

		// Fetch, poll, update.
		{desc: "get instance", req: request{method: "GET", path: inst}, status: 200, contains: sharedID, unchanged: true},
		{desc: "get unknown instance", req: request{method: "GET", path: "/v2/service_instances/nope"}, status: 404, unchanged: true},
		{desc: "last operation", req: request{method: "GET", path: inst + "/last_operation"}, status: 200, contains: "succeeded", unchanged: true},
		{desc: "last operation of unknown instance", req: request{method: "GET", path: "/v2/service_instances/nope/last_operation"}, status: 410, unchanged: true},
		{desc: "update shared to another plan", req: request{method: "PATCH", path: inst, body: `{"service_id":"` + svcID + `","plan_id":"` + shared2ID + `"}`}, status: 422, contains: "PlanChangeNotSupported", unchanged: true},
		{desc: "update unknown parameter", req: request{method: "PATCH", path: inst, body: `{"service_id":"` + svcID + `","parameters":{"size":1}}`}, status: 400, contains: "size", unchanged: true},
		{desc: "update no service_id", req: request{method: "PATCH", path: inst, body: `{"plan_id":"` + sharedID + `"}`}, status: 400, unchanged: true},
		{desc: "update malformed JSON", req: request{method: "PATCH", path: inst, body: `nope`}, status: 400, unchanged: true},
		{desc: "update unknown instance", req: request{method: "PATCH", path: "/v2/service_instances/nope", body: `{"service_id":"` + svcID + `"}`}, status: 404, unchanged: true},
		{desc: "update same plan", req: request{method: "PATCH", path: inst, body: `{"service_id":"` + svcID + `","plan_id":"` + sharedID + `"}`}, status: 200, unchanged: true},

		// Bind, fetch binding, unbind.
		{desc: "bind unknown instance", req: request{method: "PUT", path: "/v2/service_instances/nope/service_bindings/b-9", body: bind}, status: 404, unchanged: true},
		{desc: "bind malformed JSON", req: request{method: "PUT", path: inst + "/service_bindings/b-9", body: `{`}, status: 400, unchanged: true},
		{desc: "bind no service_id", req: request{method: "PUT", path: inst + "/service_bindings/b-9", body: `{"plan_id":"` + sharedID + `"}`}, status: 400, unchanged: true},
		{desc: "bind wrong plan", req: request{method: "PUT", path: inst + "/service_bindings/b-9", body: `{"service_id":"` + svcID + `","plan_id":"` + shared2ID + `"}`}, status: 400, unchanged: true},
		{desc: "bind with parameters", req: request{method: "PUT", path: inst + "/service_bindings/b-9", body: `{"service_id":"` + svcID + `","plan_id":"` + sharedID + `","parameters":{"role":"full"}}`}, status: 400, contains: "role", unchanged: true},
		{desc: "bind again, other app", req: request{method: "PUT", path: bnd, body: strings.Replace(bind, "app-1", "app-2", 1)}, status: 409, unchanged: true},
		{desc: "bind bad binding ID", req: request{method: "PUT", path: inst + "/service_bindings/b%2F9", body: bind}, status: 400, unchanged: true},
		{desc: "get binding", req: request{method: "GET", path: bnd}, status: 200, contains: `"username":"osb-i-1"`, unchanged: true},
		{desc: "get unknown binding", req: request{method: "GET", path: inst + "/service_bindings/nope"}, status: 404, unchanged: true},
		{desc: "last binding operation", req: request{method: "GET", path: bnd + "/last_operation"}, status: 200, contains: "succeeded", unchanged: true},
		{desc: "last operation of unknown binding", req: request{method: "GET", path: inst + "/service_bindings/nope/last_operation"}, status: 410, unchanged: true},
		{desc: "unbind no service_id", req: request{method: "DELETE", path: bnd + "?plan_id=" + sharedID}, status: 400, unchanged: true},
		{desc: "unbind no plan_id", req: request{method: "DELETE", path: bnd + "?service_id=" + svcID}, status: 400, unchanged: true},
		{desc: "unbind unknown binding", req: request{method: "DELETE", path: inst + "/service_bindings/nope" + q}, status: 410, unchanged: true},
		{desc: "unbind unknown instance", req: request{method: "DELETE", path: "/v2/service_instances/nope/service_bindings/b-1" + q}, status: 410, unchanged: true},

		// Deprovision.
		{desc: "deprovision no plan_id", req: request{method: "DELETE", path: inst + "?service_id=" + svcID}, status: 400, unchanged: true},
		{desc: "deprovision wrong plan", req: request{method: "DELETE", path: inst + "?service_id=" + svcID + "&plan_id=" + shared2ID}, status: 400, unchanged: true},
		{desc: "deprovision unknown instance", req: request{method: "DELETE", path: "/v2/service_instances/nope" + q}, status: 410, unchanged: true},

		// The successful ends, in order.
		{desc: "bind a second binding", req: request{method: "PUT", path: inst + "/service_bindings/b-2", body: bind}, status: 201, contains: `"uri":"rediss://osb-i-1:`},
		{desc: "bind the same binding again (a retry)", req: request{method: "PUT", path: bnd, body: bind}, status: 200, contains: `"password"`},
		{desc: "unbind", req: request{method: "DELETE", path: bnd + q}, status: 200},
		{desc: "unbind again", req: request{method: "DELETE", path: bnd + q}, status: 410, unchanged: true},
		{desc: "deprovision", req: request{method: "DELETE", path: inst + q}, status: 200},
		{desc: "deprovision again", req: request{method: "DELETE", path: inst + q}, status: 410, unchanged: true},
		{desc: "bind after deprovision", req: request{method: "PUT", path: inst + "/service_bindings/b-3", body: bind}, status: 404, unchanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := h.fingerprint(t)
			res := h.do(t, tc.req)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.raw)
			}
			if tc.contains != "" && !strings.Contains(res.raw, tc.contains) {
				t.Errorf("body %s does not contain %s", res.raw, tc.contains)
			}
			// Every error says why, except 410 Gone, whose body the spec
			// fixes as {}.
			if res.status >= 400 && res.status != 410 {
				if _, ok := res.body["description"]; !ok {
					t.Errorf("error without a description: %s", res.raw)
				}
			}
			if tc.unchanged {
				if after := h.fingerprint(t); after != before {
					t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
				}
			}
		})
	}
	// The refused elasticache requests reached no AWS API.
	for _, r := range h.ec.Requests() {
		t.Errorf("a refused request called ElastiCache: %v", r)
	}
}

// fingerprint is the broker's records and the snapshot's tenants with
// their credentials.
func (h *harness) fingerprint(t *testing.T) string {
	t.Helper()
	snap := h.plane.Current().Snapshot
	type cred struct{ ID, Digest string }
	tenants := map[string][]cred{}
	for _, tn := range snap.Tenants {
		for _, c := range tn.Credentials {
			tenants[tn.Name] = append(tenants[tn.Name], cred{c.ID, string(c.Digest[:4])})
		}
		if tenants[tn.Name] == nil {
			tenants[tn.Name] = []cred{}
		}
	}
	b, err := json.Marshal(map[string]any{"records": h.b.state.All(), "tenants": tenants})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
