package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

func opsConfig(addr, admin, up string, withAlice bool) string {
	cfg := fmt.Sprintf(`
listen: [{address: %s}]
admin: {address: %s}
upstreams:
  main: {address: %s}
tenants:
  - {name: bob, secret_env: BOB_SECRET, upstream: main, db: 1, role: readwrite}
`, addr, admin, up)
	if withAlice {
		cfg += "  - {name: alice, secret_env: ALICE_SECRET, upstream: main, db: 2, role: readwrite}\n"
	}
	return cfg
}

func TestReloadEndsRemovedTenantsSessions(t *testing.T) {
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("ALICE_SECRET", aliceSecret)
	up := redistest.Start(t)
	addr, admin := freeAddr(t), freeAddr(t)
	g := startGateway(t, opsConfig(addr, admin, up.Addr, true), addr)
	ctx := context.Background()
	opt := func(o *redis.Options) { o.MaxRetries = -1; o.PoolSize = 1 }
	alice := client(t, addr, "", aliceSecret, opt)
	bob := client(t, addr, "", bobSecret, opt)
	for _, c := range []*redis.Client{alice, bob} {
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// A broken file is refused and the running configuration stays.
	g.Rewrite(t, "listen: [}\n")
	waitFor(t, 5*time.Second, "reload refusal in the log", func() bool {
		return strings.Contains(g.Log.String(), "reload refused")
	})
	if err := alice.Ping(ctx).Err(); err != nil {
		t.Fatalf("a bad config broke a session: %v", err)
	}

	start := time.Now()
	g.Rewrite(t, opsConfig(addr, admin, up.Addr, false))
	waitFor(t, 5*time.Second, "alice's session to end", func() bool { return alice.Ping(ctx).Err() != nil })
	t.Logf("removed tenant's session ended %v after the file changed", time.Since(start).Round(10*time.Millisecond))
	if err := bob.Ping(ctx).Err(); err != nil {
		t.Fatalf("bob's session ended too: %v", err)
	}
	fresh := client(t, addr, "", aliceSecret, opt)
	if err := fresh.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("removed tenant can still log in: %v", err)
	}
}

func TestAdminEndpoint(t *testing.T) {
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("ALICE_SECRET", aliceSecret)
	up := redistest.Start(t)
	addr, admin := freeAddr(t), freeAddr(t)
	startGateway(t, opsConfig(addr, admin, up.Addr, true), addr, admin)
	ctx := context.Background()
	// A raw socket, so a closed session is seen as closed (go-redis would
	// quietly dial a new connection).
	bob := dialRaw(t, addr)
	bob.send("AUTH " + bobSecret + "\r\nSET x y\r\n")
	bob.expect("+OK\r\n+OK\r\n")
	bad := dialRaw(t, addr)
	bad.send("AUTH wrong-secret-value\r\n")
	bad.expect("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
	_ = ctx

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	if code, _ := get("/debug/pprof/"); code != 404 {
		t.Fatalf("/debug/pprof/ = %d without admin.pprof, want 404", code)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`redoubt_sessions{mode="inspected",tenant="bob",upstream="main"} 1`,
		"redoubt_auth_failures_total 1",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, bobSecret) || strings.Contains(metrics, "wrong-secret-value") {
		t.Fatal("a secret appears in the metrics")
	}
	_, list := get("/sessions")
	var sessions []struct {
		ID     uint64 `json:"id"`
		Tenant string `json:"tenant"`
	}
	if err := json.Unmarshal([]byte(list), &sessions); err != nil {
		t.Fatalf("/sessions: %v: %s", err, list)
	}
	var id uint64
	for _, s := range sessions {
		if s.Tenant == "bob" {
			id = s.ID
		}
	}
	if id == 0 {
		t.Fatalf("bob's session not listed: %s", list)
	}
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("http://%s/sessions/%d", admin, id), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE session: %v %v", resp, err)
	}
	resp.Body.Close()
	bob.expectClosed()
	waitFor(t, 5*time.Second, "the closed session to leave /sessions", func() bool {
		_, list := get("/sessions")
		return !strings.Contains(list, `"tenant":"bob"`)
	})
}

// limits.max_conns_per_tenant and limits.max_connections refuse the
// connection over the cap with a Redis-style error, and free the slot when
// a session ends.
func TestConnectionLimits(t *testing.T) {
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("ALICE_SECRET", aliceSecret)
	up := redistest.Start(t)
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams: {main: {address: %s}}
tenants:
  - {name: bob, secret_env: BOB_SECRET, upstream: main, db: 1, role: readwrite}
  - {name: alice, secret_env: ALICE_SECRET, upstream: main, db: 2, role: readwrite}
limits: {max_conns_per_tenant: 2, max_connections: 7, max_unauthenticated: 4}
`, addr, up.Addr), addr)
	login := func(secret string) *rawConn {
		c := dialRaw(t, addr)
		c.send("AUTH " + secret + "\r\n")
		return c
	}
	b1, b2 := login(bobSecret), login(bobSecret)
	b1.expect("+OK\r\n")
	b2.expect("+OK\r\n")
	b3 := login(bobSecret)
	b3.expect("-ERR max number of connections for this tenant reached\r\n")
	b3.expectClosed()

	a1 := login(aliceSecret) // another tenant still gets in: 3 sessions in all
	a1.expect("+OK\r\n")
	// 7 connections, of which 4 are kept for logins: no fourth session.
	over := login(aliceSecret)
	over.expect("-ERR max number of clients reached\r\n")
	over.expectClosed()

	b1.Close() // frees a slot for bob and one in total
	waitFor(t, 5*time.Second, "bob's slot to be freed", func() bool {
		c := dialRaw(t, addr)
		defer c.Close()
		c.send("AUTH " + bobSecret + "\r\nPING\r\n")
		buf := make([]byte, 64)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _ := io.ReadAtLeast(c, buf, 5)
		return strings.HasPrefix(string(buf[:n]), "+OK\r\n")
	})
}

// admin.pprof: true serves Go's profiler on the admin endpoint.
func TestAdminPprof(t *testing.T) {
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("ALICE_SECRET", aliceSecret)
	up := redistest.Start(t)
	addr, admin := freeAddr(t), freeAddr(t)
	cfg := strings.Replace(opsConfig(addr, admin, up.Addr, false), "admin: {address: "+admin+"}", "admin: {address: "+admin+", pprof: true}", 1)
	if !strings.Contains(cfg, "pprof: true") {
		t.Fatalf("config not rewritten:\n%s", cfg)
	}
	startGateway(t, cfg, addr, admin)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/profile?seconds=1"} {
		resp, err := http.Get("http://" + admin + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Fatalf("%s = %d, %d bytes", path, resp.StatusCode, len(b))
		}
	}
}
