package e2e

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// The admin API end to end: refusals change nothing, a store tenant and
// two credentials log in with go-redis and redis-cli, revoking one ends
// only its session within 1 s, a 2 s credential's session ends at expiry,
// the store survives a restart, and deleting the tenant ends its sessions.
func TestControlPlaneCredentials(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	ctx := context.Background()

	for _, tok := range []string{"", "wrong-token"} {
		for _, r := range []struct{ method, path string }{
			{"GET", "/v1/tenants"}, {"PUT", "/v1/tenants/x"}, {"POST", "/v1/tenants/filer/credentials"},
			{"DELETE", "/v1/tenants/filer"}, {"GET", "/v1/sessions"},
		} {
			if code, _ := g.api(t, r.method, r.path, tok, map[string]any{"upstream": "main", "db": 9}); code != 401 {
				t.Errorf("%s %s with token %q: %d, want 401", r.method, r.path, tok, code)
			}
		}
	}
	if code, _ := g.api(t, "GET", "/healthz", "", nil); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	out := g.must(t, 400, "PUT", "/v1/tenants/app", map[string]any{"upstream": "main", "db": 99})
	if !strings.Contains(out["error"].(string), "db: 99 out of range 0..15") {
		t.Errorf("400: %v", out)
	}
	g.must(t, 400, "PUT", "/v1/tenants/app", map[string]any{"upstream": "main", "db": 1}) // filer's DB
	g.must(t, 409, "PUT", "/v1/tenants/filer", map[string]any{"upstream": "main", "db": 7})
	if got := g.tenantNames(t); !slices.Equal(got, []string{"filer"}) {
		t.Fatalf("refused calls changed the tenants: %v", got)
	}

	g.must(t, 201, "PUT", "/v1/tenants/app", map[string]any{"upstream": "main", "db": 3})
	g.must(t, 200, "PUT", "/v1/tenants/app", map[string]any{"upstream": "main", "db": 3, "role": "readwrite"})
	secretA := g.issue(t, "app", "a", "")
	secretB := g.issue(t, "app", "b", "")
	g.must(t, 409, "POST", "/v1/tenants/app/credentials", map[string]string{"id": "a"})

	// go-redis, HELLO 3 AUTH app <A>
	rc := client(t, g.addr, "app", secretA, func(o *redis.Options) { o.Protocol, o.PoolSize = 3, 1 })
	mustOK(t, rc.Set(ctx, "k", "from-a", 0).Err())
	if got := up.Do(t, "SELECT", "3"); !strings.HasPrefix(got, "+OK") {
		t.Fatal(got)
	}
	direct := redis.NewClient(&redis.Options{Addr: up.Addr, DB: 3, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { direct.Close() })
	if v, err := direct.Get(ctx, "k").Result(); err != nil || v != "from-a" {
		t.Fatalf("DB 3 on the server: %q %v", v, err)
	}
	// redis-cli with B
	host, port, _ := net.SplitHostPort(g.addr)
	cli, err := exec.Command("redis-cli", "-h", host, "-p", port, "--user", "app", "--pass", secretB, "--no-auth-warning", "GET", "k").CombinedOutput()
	if err != nil || strings.TrimSpace(string(cli)) != "from-a" {
		t.Fatalf("redis-cli: %q %v", cli, err)
	}

	sa := loggedIn(t, g.addr, "app", secretA)
	sb := loggedIn(t, g.addr, "app", secretB)
	sessions := g.must(t, 200, "GET", "/v1/sessions", nil)["_raw"].(string)
	if !strings.Contains(sessions, `"credential_id":"a"`) || !strings.Contains(sessions, `"credential_id":"b"`) {
		t.Errorf("sessions do not name their credentials: %s", sessions)
	}
	metrics := g.must(t, 200, "GET", "/metrics", nil)["_raw"].(string)
	if !strings.Contains(metrics, `redoubt_credential_sessions{credential="b",tenant="app"} 1`) {
		t.Errorf("no per-credential session count in /metrics")
	}
	start := time.Now()
	g.must(t, 204, "DELETE", "/v1/tenants/app/credentials/a", nil)
	if !closedWithin(sa, time.Second) {
		t.Fatal("the revoked credential's session still open after 1 s")
	}
	t.Logf("revoked session ended after %v", time.Since(start))
	if err := rc.Ping(ctx).Err(); err == nil {
		t.Error("go-redis session of the revoked credential still works")
	}
	sb.send(respCmd("PING"))
	sb.expect("+PONG\r\n")
	bad := dialRaw(t, g.addr)
	bad.send(respCmd("AUTH", "app", secretA))
	if l := bad.line(); !strings.HasPrefix(l, "-") {
		t.Errorf("login with a revoked credential: %q", l)
	}

	secretS := g.issue(t, "app", "short", "2s")
	ss := loggedIn(t, g.addr, "app", secretS)
	issued := time.Now()
	if !closedWithin(ss, 4*time.Second) {
		t.Fatal("a 2 s credential's session outlived its expiry")
	}
	if el := time.Since(issued); el < 1500*time.Millisecond {
		t.Fatalf("expiring session ended after %v, before its expiry", el)
	}
	waitFor(t, 2*time.Second, "the expiry in the log", func() bool { return strings.Contains(g.Log.String(), "reason=expired") })
	sb.send(respCmd("PING"))
	sb.expect("+PONG\r\n")

	creds := g.must(t, 200, "GET", "/v1/tenants/app/credentials", nil)["credentials"].([]any)
	if len(creds) != 2 || creds[0].(map[string]any)["id"] != "b" || creds[0].(map[string]any)["last_used"] == nil {
		t.Fatalf("credentials: %v", creds)
	}

	// A restart keeps the store's tenants and credentials.
	storePath := g.storePath
	g.Stop()
	g2 := startCPGateway(t, up.Addr, storePath, "")
	s2 := loggedIn(t, g2.addr, "app", secretB)
	if got := g2.tenantNames(t); !slices.Equal(got, []string{"app", "filer"}) {
		t.Fatalf("after restart: %v", got)
	}
	g2.must(t, 204, "DELETE", "/v1/tenants/app", nil)
	if !closedWithin(s2, time.Second) {
		t.Fatal("a deleted tenant's session still open after 1 s")
	}
	g2.must(t, 404, "DELETE", "/v1/tenants/app", nil)
}

// The CLI over the API: table and JSON output, the token from the
// environment, exit code 1 for a refusal.
func TestControlPlaneCLI(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	admin := "http://" + g.admin
	t.Setenv("REDOUBT_ADMIN_TOKEN", "")
	if code, _, errOut := runCLI(t, "tenant", "list", "--admin", admin); code != 1 || !strings.Contains(errOut, "REDOUBT_ADMIN_TOKEN") {
		t.Fatalf("without a token: %d %s", code, errOut)
	}
	t.Setenv("REDOUBT_ADMIN_TOKEN", cpAdminToken)
	if code, out, errOut := runCLI(t, "tenant", "put", "cli-app", "--upstream", "main", "--db", "5", "--admin", admin); code != 0 {
		t.Fatalf("put: %d %s %s", code, out, errOut)
	}
	code, out, _ := runCLI(t, "credential", "issue", "cli-app", "--id", "laptop", "--ttl", "8h", "--admin", admin)
	if code != 0 || !strings.Contains(out, "secret:") {
		t.Fatalf("issue: %d %s", code, out)
	}
	secret := strings.TrimSpace(out[strings.Index(out, "secret:")+len("secret:"):])
	loggedIn(t, g.addr, "cli-app", secret)
	code, out, _ = runCLI(t, "tenant", "list", "--admin", admin)
	if code != 0 || !strings.Contains(out, "cli-app") || !strings.Contains(out, "store") {
		t.Fatalf("list: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "credential", "list", "cli-app", "--json", "--admin", admin)
	if code != 0 || !strings.Contains(out, `"id":"laptop"`) || strings.Contains(out, secret) {
		t.Fatalf("list --json: %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "credential", "revoke", "cli-app", "laptop", "--admin", admin); code != 0 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, errOut := runCLI(t, "credential", "revoke", "cli-app", "laptop", "--admin", admin); code != 1 {
		t.Fatalf("revoke twice: %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "tenant", "delete", "cli-app", "--admin", admin); code != 0 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := runCLI(t, "tenant", "list", "--admin", "http://"+freeAddr(t)); code != 2 {
		t.Fatalf("unreachable admin: %d, want 2", code)
	}
}
