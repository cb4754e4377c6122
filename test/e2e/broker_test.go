package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// The service broker end to end, as a platform drives it over real HTTP,
// with real redis-servers behind redoubt: every binding its own
// credential, an unbind that ends exactly that binding's sessions, and a
// deprovision that leaves the DB empty for the next instance.
func TestBrokerSharedPlanLifecycle(t *testing.T) {
	up := redistest.Start(t)
	g := startBrokerGateway(t, up.Addr, "")
	ctx := context.Background()

	cat := g.mustOSB(t, 200, "GET", "/v2/catalog", nil)
	svcs, _ := cat["services"].([]any)
	if len(svcs) != 1 || svcs[0].(map[string]any)["id"] != brokerService {
		t.Fatalf("catalog: %v", cat)
	}

	provision := map[string]any{"service_id": brokerService, "plan_id": brokerShared,
		"organization_guid": "org-1", "space_guid": "space-1"}
	g.mustOSB(t, 201, "PUT", "/v2/service_instances/inst-a", provision)
	g.mustOSB(t, 200, "PUT", "/v2/service_instances/inst-a", provision) // repeated: same answer, nothing new
	g.mustOSB(t, 201, "PUT", "/v2/service_instances/inst-b", provision)

	a1 := g.bindCreds(t, "inst-a", "bind-a1")
	a2 := g.bindCreds(t, "inst-a", "bind-a2")
	b1 := g.bindCreds(t, "inst-b", "bind-b1")
	if a1["password"] == a2["password"] || a1["username"] != a2["username"] {
		t.Fatalf("two bindings of one instance: want one tenant, two passwords: %v %v", a1, a2)
	}
	if want := fmt.Sprintf("redis://%s:%s@%s/0", a1["username"], a1["password"], g.addr); a1["uri"] != want {
		t.Fatalf("uri = %v, want %s", a1["uri"], want)
	}

	// Both of inst-a's credentials work, with go-redis and redis-cli.
	ca1 := bindingClient(t, a1)
	if err := ca1.Set(ctx, "k", "from-a", 0).Err(); err != nil {
		t.Fatalf("go-redis with binding a1: %v", err)
	}
	if got := redisCLI(t, a2, "GET", "k"); got != "from-a" {
		t.Fatalf("redis-cli with binding a2: GET k = %q", got)
	}
	// inst-b cannot see inst-a's keys, nor inst-a inst-b's.
	cb1 := bindingClient(t, b1)
	if v, err := cb1.Get(ctx, "k").Result(); err != redis.Nil {
		t.Fatalf("inst-b reads inst-a's key: %q, %v", v, err)
	}
	if err := cb1.Set(ctx, "k", "from-b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := ca1.Get(ctx, "k").Val(); v != "from-a" {
		t.Fatalf("inst-a's key after inst-b's write: %q", v)
	}

	// Live sessions of both bindings; unbind a1.
	live1 := loggedIn(t, g.addr, a1["username"].(string), a1["password"].(string))
	live2 := loggedIn(t, g.addr, a2["username"].(string), a2["password"].(string))
	start := time.Now()
	g.mustOSB(t, 200, "DELETE", "/v2/service_instances/inst-a/service_bindings/bind-a1?service_id="+brokerService+"&plan_id="+brokerShared, nil)
	if !closedWithin(live1, time.Second) {
		t.Fatal("the unbound binding's live session was not ended within 1 s")
	}
	t.Logf("unbind to session end: %v", time.Since(start))
	if err := bindingClient(t, a1).Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("the unbound credential still logs in: %v", err)
	}
	live2.send(respCmd("GET", "k"))
	live2.expect("$6\r\nfrom-a\r\n")
	if got := redisCLI(t, a2, "GET", "k"); got != "from-a" {
		t.Fatalf("the other binding after unbind: %q", got)
	}
	g.mustOSB(t, 410, "DELETE", "/v2/service_instances/inst-a/service_bindings/bind-a1?service_id="+brokerService+"&plan_id="+brokerShared, nil)

	// Deprovision: sessions end, the DB is emptied and handed out again.
	dbA := keyspaceDB(t, up, "from-a")
	g.mustOSB(t, 200, "DELETE", "/v2/service_instances/inst-a?service_id="+brokerService+"&plan_id="+brokerShared, nil)
	if !closedWithin(live2, time.Second) {
		t.Fatal("deprovision left a live session")
	}
	direct := redis.NewClient(&redis.Options{Addr: up.Addr, DB: dbA})
	defer direct.Close()
	if n := direct.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("db %d after deprovision holds %d keys", dbA, n)
	}
	g.mustOSB(t, 201, "PUT", "/v2/service_instances/inst-c", provision)
	c1 := g.bindCreds(t, "inst-c", "bind-c1")
	cc1 := bindingClient(t, c1)
	if err := cc1.Set(ctx, "fresh", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if direct.Get(ctx, "fresh").Val() != "1" {
		t.Fatalf("inst-c did not get the emptied db %d back", dbA)
	}
	if v := cb1.Get(ctx, "k").Val(); v != "from-b" {
		t.Fatalf("inst-b lost its key: %q", v)
	}
	// No binding's password and not the broker's own reached the log.
	log := g.Log.String()
	for _, secret := range []any{a1["password"], a2["password"], b1["password"], c1["password"], brokerPassword} {
		if strings.Contains(log, secret.(string)) {
			t.Fatal("a secret is in the log")
		}
	}
	if !strings.Contains(log, "binding deleted") {
		t.Fatal("the unbind left no log line")
	}
}

func bindingClient(t *testing.T, c map[string]any) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(c["uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries, opts.PoolSize = -1, 1
	cl := redis.NewClient(opts)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// redisCLI runs redis-cli with the binding's URI.
func redisCLI(t *testing.T, c map[string]any, args ...string) string {
	t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-u", c["uri"].(string), "--no-auth-warning"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// keyspaceDB finds the DB index holding a key with value v (written
// through redoubt), looking at the upstream directly.
func keyspaceDB(t *testing.T, up *redistest.Server, v string) int {
	t.Helper()
	for db := 0; db <= 15; db++ {
		c := redis.NewClient(&redis.Options{Addr: up.Addr, DB: db})
		got := c.Get(context.Background(), "k").Val()
		c.Close()
		if got == v {
			return db
		}
	}
	t.Fatalf("no DB holds k=%s", v)
	return -1
}

// The broker's listener over TLS with client certificates: the platform's
// certificate and basic auth are both needed.
func TestBrokerTLS(t *testing.T) {
	up := redistest.Start(t)
	ca := newTestCA(t)
	srv := ca.issue("broker", true, "broker")
	platform := ca.issue("platform", false, "platform")
	g := startBrokerGateway(t, up.Addr, "  tls: {cert_file: "+srv.CertFile+", key_file: "+srv.KeyFile+", client_ca_file: "+ca.CAFile+"}")
	g.scheme = "https"
	g.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool, Certificates: []tls.Certificate{platform.TLS}, MinVersion: tls.VersionTLS12}}}
	g.mustOSB(t, 200, "GET", "/v2/catalog", nil)

	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest("GET", "https://"+g.broker+"/v2/catalog", nil)
	req.SetBasicAuth(brokerUser, brokerPassword)
	req.Header.Set("X-Broker-API-Version", "2.17")
	if res, err := noCert.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("without a client certificate: %d, want a refused handshake", res.StatusCode)
	}
	if res, err := http.Get("http://" + g.broker + "/v2/catalog"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS listener: %d", res.StatusCode)
		}
	}
}
