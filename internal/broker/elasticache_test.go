package broker

import (
	"strings"
	"testing"
)

const ecInst = "/v2/service_instances/ec-1"

// The ElastiCache plan against the local stand-in of the ElastiCache
// Query API (AWS cannot be reached from here): provision (async) → in
// progress → available (the upstream joins the snapshot) → bind → update →
// deprovision, with the requests the stand-in receives asserted.
func TestElastiCacheLifecycle(t *testing.T) {
	h := newHarness(t)
	body := `{"service_id":"` + svcID + `","plan_id":"` + smallID + `","organization_guid":"org-1","space_guid":"space-1",` +
		`"parameters":{"maxmemory_policy":"allkeys-lru","preferred_maintenance_window":"sun:05:00-sun:06:00"}}`

	res := h.must(t, 202, "PUT", ecInst+"?accepts_incomplete=true", body)
	if res.body["operation"] != "provision" {
		t.Fatalf("provision answer: %s", res.raw)
	}
	// A retried provision (same ID, same request) creates nothing new.
	h.must(t, 202, "PUT", ecInst+"?accepts_incomplete=true", body)
	creates := h.ec.Calls("CreateReplicationGroup")
	if len(creates) != 1 {
		t.Fatalf("%d CreateReplicationGroup calls, want 1", len(creates))
	}
	c := creates[0]
	group := c.Get("ReplicationGroupId")
	for key, want := range map[string]string{
		"TransitEncryptionEnabled": "true", "AtRestEncryptionEnabled": "true",
		"Engine": "redis", "EngineVersion": "7.1", "CacheNodeType": "cache.t4g.small",
		"NumNodeGroups": "1", "ReplicasPerNodeGroup": "1", "SnapshotRetentionLimit": "7",
		"CacheSubnetGroupName": "redis-subnets", "SecurityGroupIds.SecurityGroupId.1": "sg-0123",
		"UserGroupIds.member.1": "redoubt-iam", "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
		"CacheParameterGroupName": group + "-params",
	} {
		if got := c.Get(key); got != want {
			t.Errorf("CreateReplicationGroup %s = %q, want %q", key, got, want)
		}
	}
	tags := map[string]string{}
	for i := 1; c.Get(tagKey(i)) != ""; i++ {
		tags[c.Get(tagKey(i))] = c.Get(tagValue(i))
	}
	if tags["redoubt:instance-id"] != "ec-1" || tags["redoubt:space-guid"] != "space-1" || tags["redoubt:organization-guid"] != "org-1" {
		t.Errorf("tags = %v", tags)
	}
	pg := h.ec.Calls("ModifyCacheParameterGroup")
	if len(pg) != 1 || pg[0].Get("ParameterNameValues.ParameterNameValue.1.ParameterName") != "maxmemory-policy" ||
		pg[0].Get("ParameterNameValues.ParameterNameValue.1.ParameterValue") != "allkeys-lru" ||
		pg[0].Get("ParameterNameValues.ParameterNameValue.2.ParameterName") != "timeout" {
		t.Errorf("cache parameters: %v", pg)
	}
	if fam := h.ec.Calls("CreateCacheParameterGroup"); len(fam) != 1 || fam[0].Get("CacheParameterGroupFamily") != "redis7" {
		t.Errorf("parameter group: %v", fam)
	}

	// Not bindable, not fetchable while creating.
	h.must(t, 404, "GET", ecInst, "")
	h.must(t, 422, "PUT", ecInst+"/service_bindings/b-1", `{"service_id":"`+svcID+`","plan_id":"`+smallID+`"}`)
	res = h.must(t, 200, "GET", ecInst+"/last_operation?operation=provision", "")
	if res.body["state"] != "in progress" || res.header.Get("Retry-After") == "" {
		t.Fatalf("first poll: %s (Retry-After %q)", res.raw, res.header.Get("Retry-After"))
	}
	res = h.must(t, 200, "GET", ecInst+"/last_operation?operation=provision", "")
	if res.body["state"] != "succeeded" {
		t.Fatalf("second poll: %s", res.raw)
	}
	snap := h.plane.Current().Snapshot
	u, ok := snap.Upstreams["osb-ec-1"]
	if !ok || u.Auth.Mode != "aws-iam" || u.Auth.CacheName != group || u.Auth.Username != "redoubt" || !u.TLS.Enabled ||
		!strings.HasPrefix(u.Address, "master."+group+".") {
		t.Fatalf("upstream in snapshot: %+v (ok %v)", u, ok)
	}

	res = h.must(t, 201, "PUT", ecInst+"/service_bindings/b-1", `{"service_id":"`+svcID+`","plan_id":"`+smallID+`"}`)
	creds, _ := res.body["credentials"].(map[string]any)
	if creds["username"] != "osb-ec-1" || creds["tls_enabled"] != true || !strings.HasPrefix(creds["uri"].(string), "rediss://osb-ec-1:") {
		t.Fatalf("bind: %s", res.raw)
	}
	if tn, ok := h.plane.Current().Snapshot.Tenant("osb-ec-1"); !ok || tn.Upstream != "osb-ec-1" || len(tn.Credentials) != 1 || tn.Credentials[0].ID != "b-1" {
		t.Fatalf("tenant after bind: %+v", tn)
	}
	res = h.must(t, 200, "GET", ecInst, "")
	if res.body["plan_id"] != smallID || res.body["parameters"].(map[string]any)["maxmemory_policy"] != "allkeys-lru" {
		t.Fatalf("get instance: %s", res.raw)
	}

	// Update: a node type change is applied in place; an engine change is refused.
	res = h.do(t, request{method: "PATCH", path: ecInst + "?accepts_incomplete=true",
		body: `{"service_id":"` + svcID + `","plan_id":"` + newEngineID + `"}`})
	if res.status != 422 || !strings.Contains(res.raw, "engine_version") {
		t.Fatalf("engine change: %d %s", res.status, res.raw)
	}
	h.must(t, 202, "PATCH", ecInst+"?accepts_incomplete=true", `{"service_id":"`+svcID+`","plan_id":"`+mediumID+`"}`)
	if m := h.ec.Calls("ModifyReplicationGroup"); len(m) != 1 || m[0].Get("CacheNodeType") != "cache.t4g.medium" || m[0].Get("ApplyImmediately") != "true" {
		t.Fatalf("ModifyReplicationGroup: %v", m)
	}
	for i := 0; ; i++ {
		res = h.must(t, 200, "GET", ecInst+"/last_operation?operation=update", "")
		if res.body["state"] == "succeeded" {
			break
		}
		if res.body["state"] != "in progress" || i > 3 {
			t.Fatalf("update poll: %s", res.raw)
		}
	}

	// Deprovision: the tenant (and binding) go at once, the group asynchronously.
	h.must(t, 422, "DELETE", ecInst+"?service_id="+svcID+"&plan_id="+mediumID, "") // async required
	h.must(t, 202, "DELETE", ecInst+"?accepts_incomplete=true&service_id="+svcID+"&plan_id="+mediumID, "")
	if _, ok := h.plane.Current().Snapshot.Tenant("osb-ec-1"); ok {
		t.Fatal("tenant still in the snapshot after deprovision")
	}
	if d := h.ec.Calls("DeleteReplicationGroup"); len(d) != 1 || d[0].Get("ReplicationGroupId") != group {
		t.Fatalf("DeleteReplicationGroup: %v", d)
	}
	for i := 0; ; i++ {
		res = h.must(t, 200, "GET", ecInst+"/last_operation?operation=deprovision", "")
		if res.body["state"] == "succeeded" {
			break
		}
		if res.body["state"] != "in progress" || i > 3 {
			t.Fatalf("deprovision poll: %s", res.raw)
		}
	}
	if d := h.ec.Calls("DeleteCacheParameterGroup"); len(d) != 1 || d[0].Get("CacheParameterGroupName") != group+"-params" {
		t.Fatalf("DeleteCacheParameterGroup: %v", d)
	}
	waitUntil(t, func() bool { _, ok := h.plane.Current().Snapshot.Upstreams["osb-ec-1"]; return !ok })
	h.must(t, 410, "GET", ecInst+"/last_operation?operation=deprovision", "")
}

// A provision whose record was lost (the broker crashed after
// CreateReplicationGroup) adopts the group its tags say is its own, and
// only that one.
func TestElastiCacheRetriedProvisionAdoptsOwnGroup(t *testing.T) {
	h := newHarness(t)
	body := `{"service_id":"` + svcID + `","plan_id":"` + smallID + `","organization_guid":"o","space_guid":"s"}`
	h.must(t, 202, "PUT", "/v2/service_instances/orphan?accepts_incomplete=true", body)
	if err := h.b.state.Delete("orphan"); err != nil { // the record is lost
		t.Fatal(err)
	}
	h.must(t, 202, "PUT", "/v2/service_instances/orphan?accepts_incomplete=true", body)
	if n := len(h.ec.Calls("CreateReplicationGroup")); n != 2 {
		t.Fatalf("%d creates", n)
	}
	if n := len(h.ec.Calls("ListTagsForResource")); n != 1 {
		t.Fatalf("the group's tags were not checked (%d)", n)
	}
	// A group with the same ID but another instance's tags is not adopted.
	h.ec.SetTag(GroupID("orphan"), "redoubt:instance-id", "someone-else")
	if err := h.b.state.Delete("orphan"); err != nil {
		t.Fatal(err)
	}
	h.must(t, 500, "PUT", "/v2/service_instances/orphan?accepts_incomplete=true", body)
	if _, ok := h.b.state.Get("orphan"); ok {
		t.Fatal("a foreign group was adopted")
	}
}

// restore_from_latest_snapshot_of restores the newest snapshot of an
// instance in the same organization and space, and refuses any other.
func TestElastiCacheRestoreFromSnapshot(t *testing.T) {
	h := newHarness(t)
	src := `{"service_id":"` + svcID + `","plan_id":"` + smallID + `","organization_guid":"org-1","space_guid":"space-1"}`
	h.must(t, 202, "PUT", "/v2/service_instances/src?accepts_incomplete=true", src)
	h.ec.AddSnapshot(GroupID("src"), "older", "2026-11-28T03:00:00Z")
	h.ec.AddSnapshot(GroupID("src"), "newest", "2026-11-29T03:00:00Z")
	h.ec.AddSnapshot(GroupID("src"), "oldest", "2026-11-27T03:00:00Z")

	other := `{"service_id":"` + svcID + `","plan_id":"` + smallID + `","organization_guid":"org-1","space_guid":"space-2",` +
		`"parameters":{"restore_from_latest_snapshot_of":"src"}}`
	res := h.do(t, request{method: "PUT", path: "/v2/service_instances/thief?accepts_incomplete=true", body: other})
	if res.status != 400 || !strings.Contains(res.raw, "restore_from_latest_snapshot_of") {
		t.Fatalf("restore from another space: %d %s", res.status, res.raw)
	}
	same := strings.Replace(other, "space-2", "space-1", 1)
	h.must(t, 202, "PUT", "/v2/service_instances/copy?accepts_incomplete=true", same)
	creates := h.ec.Calls("CreateReplicationGroup")
	if len(creates) != 2 || creates[1].Get("SnapshotName") != "newest" {
		t.Fatalf("creates: %v", creates)
	}
}

func tagKey(i int) string   { return "Tags.Tag." + itoa(i) + ".Key" }
func tagValue(i int) string { return "Tags.Tag." + itoa(i) + ".Value" }
func itoa(i int) string     { return string(rune('0' + i)) }

// A create that fails removes the parameter group made for it.
func TestElastiCacheFailedCreateLeavesNoParameterGroup(t *testing.T) {
	h := newHarness(t)
	h.ec.FailNext("CreateReplicationGroup", "InsufficientCacheClusterCapacity")
	body := `{"service_id":"` + svcID + `","plan_id":"` + smallID + `","parameters":{"maxmemory_policy":"noeviction"}}`
	res := h.do(t, request{method: "PUT", path: "/v2/service_instances/x?accepts_incomplete=true", body: body})
	if res.status != 500 || strings.Contains(res.raw, "InsufficientCacheClusterCapacity") {
		t.Fatalf("failed create: %d %s (the AWS cause belongs in the log only)", res.status, res.raw)
	}
	if d := h.ec.Calls("DeleteCacheParameterGroup"); len(d) != 1 || d[0].Get("CacheParameterGroupName") != GroupID("x")+"-params" {
		t.Fatalf("DeleteCacheParameterGroup: %v", d)
	}
	if _, ok := h.b.state.Get("x"); ok {
		t.Fatal("a failed create left a record")
	}
}
