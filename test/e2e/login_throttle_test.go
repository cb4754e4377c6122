package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// throttled is the reply to a login refused by the throttle: the same
// WRONGPASS as every other refusal (tokens_helpers_test.go), so a guesser
// cannot tell a throttled tenant name from a name that is no tenant.
const throttled = wrongPass

var thrSecrets = map[string]string{
	"alice": "alice-throttle-secret-0123456789",
	"bob":   "bob-throttle-secret-0123456789",
	"carol": "carol-throttle-secret-0123456789",
}

// startThrottleEnv runs the gateway with 5 failures per (source, claimed
// tenant) per 5 s window, so a login that names no tenant is checked once
// a second once its source has used up its failures.
func startThrottleEnv(t *testing.T) (addr, admin string) {
	t.Helper()
	for name, s := range thrSecrets {
		t.Setenv(strings.ToUpper(name)+"_THR_SECRET", s)
	}
	up := redistest.Start(t)
	addr, admin = freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
admin: {address: %s}
upstreams: {main: {address: %s}}
tenants:
  - {name: alice, secret_env: ALICE_THR_SECRET, upstream: main, db: 1}
  - {name: bob, secret_env: BOB_THR_SECRET, upstream: main, db: 2}
  - {name: carol, secret_env: CAROL_THR_SECRET, upstream: main, db: 3}
limits: {auth_fail_per_addr: 5, auth_fail_window: 5s}
`, addr, admin, up.Addr), addr, admin)
	return addr, admin
}

// dialFrom connects from a given loopback source address (Linux accepts
// any 127/8 address as a source), so each case has a source of its own.
func dialFrom(t testing.TB, src, addr string) *isoConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return &isoConn{t: t, c: c, br: bufio.NewReader(c)}
}

// loginFrom opens a connection from src and sends one login command.
func loginFrom(t testing.TB, src, addr string, args ...string) string {
	t.Helper()
	return dialFrom(t, src, addr).do(args...).raw
}

func metric(t testing.TB, admin, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + admin + "/metrics")
	mustOK(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	mustOK(t, err)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			mustOK(t, err)
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A tenant's failures from a source never lock another tenant out there
// (one misconfigured client behind a NAT must not lock out its
// neighbours), while the tenant they claim is throttled.
func TestThrottleFailuresOfOneTenantSpareTheOthers(t *testing.T) {
	addr, _ := startThrottleEnv(t)
	const src = "127.0.0.11"
	for i := 0; i < 5; i++ {
		if got := loginFrom(t, src, addr, "AUTH", "alice", "wrong-"+strconv.Itoa(i)); got != wrongPass {
			t.Fatalf("failure %d: %q", i, got)
		}
	}
	if got := loginFrom(t, src, addr, "AUTH", "alice", thrSecrets["alice"]); got != throttled {
		t.Errorf("alice's own correct secret after her 5 failures: %q, want the throttle's error", got)
	}
	start := time.Now()
	for _, args := range [][]string{
		{"AUTH", "bob", thrSecrets["bob"]},
		{"AUTH", thrSecrets["bob"]},
		{"AUTH", "default", thrSecrets["carol"]},
	} {
		if got := loginFrom(t, src, addr, args...); got != "+OK\r\n" {
			t.Errorf("%s %s from the same source: %q, want +OK", args[0], args[1], got)
		}
	}
	if r := dialFrom(t, src, addr).do("HELLO", "3", "AUTH", "carol", thrSecrets["carol"]); r.typ != '%' {
		t.Errorf("HELLO 3 AUTH carol from the same source: %q", r.raw)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("other tenants' logins took %v", d)
	}
	if got := loginFrom(t, "127.0.0.12", addr, "AUTH", "alice", thrSecrets["alice"]); got != "+OK\r\n" {
		t.Errorf("alice from another source: %q", got)
	}
}

// Failures of AUTH <secret> (no tenant named) slow down that source's
// secret-only logins to one a second, but a correct secret still gets in,
// and a login that names its tenant is not slowed at all.
func TestThrottleSecretOnlyFailuresSlowDownWithoutLockingOut(t *testing.T) {
	addr, _ := startThrottleEnv(t)
	const src = "127.0.0.21"
	for i := 0; i < 5; i++ {
		if got := loginFrom(t, src, addr, "AUTH", "wrong-secret-"+strconv.Itoa(i)); got != wrongPass {
			t.Fatalf("failure %d: %q", i, got)
		}
	}
	start := time.Now()
	if got := loginFrom(t, src, addr, "AUTH", "bob", thrSecrets["bob"]); got != "+OK\r\n" || time.Since(start) > time.Second {
		t.Errorf("AUTH bob <secret>: %q after %v, want +OK at once", got, time.Since(start))
	}
	if got := loginFrom(t, src, addr, "AUTH", thrSecrets["carol"]); got != "+OK\r\n" {
		t.Errorf("AUTH <carol's secret>: %q, want +OK (slowed, not refused)", got)
	}
	// A guesser gets one check a second: three more guesses take two
	// seconds at least (a lower bound only: the machine may be slow).
	start = time.Now()
	for i := 0; i < 3; i++ {
		if got := loginFrom(t, src, addr, "AUTH", "guess-"+strconv.Itoa(i)); got != wrongPass {
			t.Fatalf("guess %d: %q", i, got)
		}
	}
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Errorf("3 guesses in the slow lane took %v, want 2 s at least", d)
	}
}

// A failed AUTH inside a live session counts like a failed login (throttle
// and redoubt_auth_failures_total), and another tenant's valid credential
// gets the very same WRONGPASS as a wrong one.
func TestThrottleCountsFailedReauthInSessions(t *testing.T) {
	addr, admin := startThrottleEnv(t)
	const src = "127.0.0.31"
	before := metric(t, admin, "redoubt_auth_failures_total")
	for i := 0; i < 3; i++ {
		bob := dialFrom(t, src, addr)
		if r := bob.do("AUTH", "bob", thrSecrets["bob"]); r.raw != "+OK\r\n" {
			t.Fatalf("bob's login: %q", r.raw)
		}
		valid := bob.do("AUTH", "alice", thrSecrets["alice"])
		wrong := bob.do("AUTH", "alice", "wrong")
		if valid.raw != wrongPass || wrong.raw != wrongPass {
			t.Fatalf("re-AUTH as alice: valid secret %q, wrong secret %q; want the same WRONGPASS", valid.raw, wrong.raw)
		}
		if r := bob.do("PING"); r.raw != "+PONG\r\n" {
			t.Fatalf("bob's session after 2 refused re-AUTHs: %q", r.raw)
		}
	}
	// 5 counted, then the claim is used up: the 6th is refused unchecked.
	if got := metric(t, admin, "redoubt_auth_failures_total") - before; got != 5 {
		t.Errorf("auth failures counted: %v, want 5", got)
	}
	if got := loginFrom(t, src, addr, "AUTH", "alice", thrSecrets["alice"]); got != throttled {
		t.Errorf("alice's login after failed re-AUTHs claiming her from this source: %q, want the throttle's error", got)
	}
	if got := loginFrom(t, src, addr, "AUTH", "bob", thrSecrets["bob"]); got != "+OK\r\n" {
		t.Errorf("bob's login from the same source: %q", got)
	}
}
