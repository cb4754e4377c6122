package e2e

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/awsiam/iamtest"
	"github.com/redoubt-proxy/redoubt/internal/broker"
	"github.com/redoubt-proxy/redoubt/internal/broker/ectest"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

const brokerDedicated = "8c8ad7c6-1b5e-4c5e-9c1e-000000000003"

// An elasticache-plan instance end to end through redoubt. No AWS can be
// reached here: the ElastiCache API is a local stand-in (ectest, through
// the SDK's endpoint override), and the "available" cache it reports is an
// iamtest.Front, a TLS stand-in for an ElastiCache endpoint that checks
// the SigV4 IAM token, before a real redis-server. Provision → available
// → bind: the bound app's go-redis reaches the cache through redoubt,
// which logs in with IAM as the plan's user → unbind ends that session →
// deprovision.
func TestBrokerElastiCacheThroughRedoubt(t *testing.T) {
	isolateAWSEnv(t, true)
	cert := iamtest.SelfSigned(t)
	group := broker.GroupID("ec-1")
	rs := redistest.Start(t)
	front := iamtest.StartFront(t, rs.Addr, cert.Server,
		iamtest.Expect{CacheName: group, User: iamTestUser, Region: iamTestRegion}, iamTestCreds(), 0, nil)
	api := ectest.Start(t)
	api.Primary = front.Addr

	t.Setenv("E2E_BROKER_PASSWORD", brokerPassword)
	g := &brokerGateway{addr: freeAddr(t), broker: freeAddr(t), scheme: "http", client: newHTTPClient()}
	_, port, _ := net.SplitHostPort(g.addr)
	g.Gateway = startGateway(t, `
listen: [{address: `+g.addr+`}]
store: {path: `+filepath.Join(t.TempDir(), "redoubt.db")+`}
limits: {shutdown_grace: 1s}
upstreams:
  unused: {address: `+rs.Addr+`}
broker:
  address: `+g.broker+`
  username: `+brokerUser+`
  password_env: E2E_BROKER_PASSWORD
  endpoint: {host: 127.0.0.1, port: `+port+`}
  services:
    - name: redis
      id: `+brokerService+`
      plans:
        - {name: dedicated, id: `+brokerDedicated+`, kind: elasticache, node_type: cache.t4g.small,
           engine_version: "7.1", replicas: 1, region: `+iamTestRegion+`, iam_user: `+iamTestUser+`,
           user_group_id: redoubt-iam, aws_endpoint: "`+api.URL+`", tls_ca_file: "`+cert.CertFile+`"}
`, g.addr, g.broker)

	ids := map[string]any{"service_id": brokerService, "plan_id": brokerDedicated}
	q := "?accepts_incomplete=true&service_id=" + brokerService + "&plan_id=" + brokerDedicated
	g.mustOSB(t, 202, "PUT", "/v2/service_instances/ec-1?accepts_incomplete=true",
		map[string]any{"service_id": brokerService, "plan_id": brokerDedicated, "organization_guid": "o", "space_guid": "s"})
	poll := func(what string) {
		t.Helper()
		for i := 0; ; i++ {
			out := g.mustOSB(t, 200, "GET", "/v2/service_instances/ec-1/last_operation"+q, nil)
			if out["state"] == "succeeded" {
				return
			}
			if out["state"] != "in progress" || i > 10 {
				t.Fatalf("%s: %v", what, out)
			}
		}
	}
	poll("provision")
	if c := api.Calls("CreateReplicationGroup"); len(c) != 1 || c[0].Get("TransitEncryptionEnabled") != "true" {
		t.Fatalf("CreateReplicationGroup: %v", c)
	}

	bindOut := func(id string) map[string]any {
		out := g.mustOSB(t, 201, "PUT", "/v2/service_instances/ec-1/service_bindings/"+id, ids)
		return out["credentials"].(map[string]any)
	}
	c1, c2 := bindOut("app-1"), bindOut("app-2")
	ctx := context.Background()
	r1 := bindingClient(t, c1)
	if err := r1.Set(ctx, "order", "42", 0).Err(); err != nil {
		t.Fatalf("through redoubt to the cache: %v (front: %s)\n%s", err, iamFrontStats(front), g.Log.String())
	}
	if front.Accepted() == 0 {
		t.Fatal("redoubt did not log in to the cache with an IAM token")
	}
	if got := redisCLI(t, c2, "GET", "order"); got != "42" {
		t.Fatalf("second binding reads %q", got)
	}

	live1 := loggedIn(t, g.addr, c1["username"].(string), c1["password"].(string))
	live2 := loggedIn(t, g.addr, c2["username"].(string), c2["password"].(string))
	g.mustOSB(t, 200, "DELETE", "/v2/service_instances/ec-1/service_bindings/app-1"+q, nil)
	if !closedWithin(live1, time.Second) {
		t.Fatal("unbind left the binding's session open")
	}
	live2.send(respCmd("GET", "order"))
	live2.expect("$2\r\n42\r\n")

	g.mustOSB(t, 202, "DELETE", "/v2/service_instances/ec-1"+q, nil)
	if !closedWithin(live2, time.Second) {
		t.Fatal("deprovision left a session open")
	}
	poll("deprovision")
	if d := api.Calls("DeleteReplicationGroup"); len(d) != 1 || d[0].Get("ReplicationGroupId") != group {
		t.Fatalf("DeleteReplicationGroup: %v", d)
	}
	assertNoIAMSecrets(t, "log", g.Log.String(), c1["password"].(string), c2["password"].(string))
}
