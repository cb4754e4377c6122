package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

var limSecrets = map[string]string{
	"alice": "alice-limits-secret-0123456789",
	"bob":   "bob-limits-secret-0123456789",
}

// startLimitsEnv runs alice and bob on one upstream (redis-server with
// maxclients) behind a gateway with the given limits line.
func startLimitsEnv(t *testing.T, maxclients int, limits string) (up *redistest.Server, addr, admin string) {
	t.Helper()
	for name, s := range limSecrets {
		t.Setenv(strings.ToUpper(name)+"_LIM_SECRET", s)
	}
	up = redistest.Start(t, "--maxclients", strconv.Itoa(maxclients))
	addr, admin = freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
admin: {address: %s}
upstreams: {main: {address: %s}}
tenants:
  - {name: alice, secret_env: ALICE_LIM_SECRET, upstream: main, db: 1}
  - {name: bob, secret_env: BOB_LIM_SECRET, upstream: main, db: 2}
%s
`, addr, admin, up.Addr, limits), addr, admin)
	return up, addr, admin
}

// loginWithin logs tenant in from src and wants PONG within a second. Like
// any client it tries again when it is refused (max clients) or cut off.
func loginWithin(t testing.TB, src, addr, tenant string) {
	t.Helper()
	start := time.Now()
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	var last string
	for time.Since(start) < time.Second {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", src, err)
		}
		fmt.Fprintf(c, "AUTH %s %s\r\nPING\r\n", tenant, limSecrets[tenant])
		_ = c.SetReadDeadline(start.Add(time.Second))
		got, buf := "", make([]byte, 128)
		for len(got) < len("+OK\r\n+PONG\r\n") {
			n, err := c.Read(buf)
			got += string(buf[:n])
			if err != nil {
				break
			}
		}
		c.Close()
		if got == "+OK\r\n+PONG\r\n" {
			return
		}
		last = got
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s could not log in from %s within 1 s (last reply %q)", tenant, src, last)
}

// tenantFlood opens n sessions of alice at once, from 10 source addresses
// (her pods), and returns how many got in (they stay open until the test
// ends) and the replies of the others.
func tenantFlood(t testing.TB, addr string, n int) (int, map[string]int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok, refused := 0, map[string]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i%10+1))}}
			var c net.Conn
			got := ""
			// A client retries when every login slot is busy (max clients).
			for try := 0; try < 100 && (try == 0 || got == "-ERR max number of clients reached\r\n"); try++ {
				if c != nil {
					c.Close()
					time.Sleep(20 * time.Millisecond)
				}
				var err error
				if c, err = d.Dial("tcp", addr); err != nil {
					mu.Lock()
					refused["dial: "+err.Error()]++
					mu.Unlock()
					return
				}
				fmt.Fprintf(c, "AUTH alice %s\r\nPING\r\n", limSecrets["alice"])
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 128)
				got = ""
				for !strings.HasSuffix(got, "\r\n") || (got == "+OK\r\n") {
					m, err := c.Read(buf)
					got += string(buf[:m])
					if err != nil {
						break
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if got == "+OK\r\n+PONG\r\n" {
				ok++
				t.Cleanup(func() { c.Close() })
				return
			}
			refused[got]++
			c.Close()
		}()
	}
	wg.Wait()
	return ok, refused
}

// idleFlood opens n sockets from src that never log in, and keeps them.
func idleFlood(t testing.TB, src, addr string, n int) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	for i := 0; i < n; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle socket %d from %s: %v", i, src, err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// handshakes counts the gateway's connections still logging in.
func handshakes(t testing.TB, admin string) int {
	t.Helper()
	res, err := http.Get("http://" + admin + "/sessions")
	mustOK(t, err)
	defer res.Body.Close()
	var list []struct {
		Mode string `json:"mode"`
	}
	mustOK(t, json.NewDecoder(res.Body).Decode(&list))
	n := 0
	for _, s := range list {
		if s.Mode == "handshake" {
			n++
		}
	}
	return n
}

func connectedClients(t testing.TB, up *redistest.Server) int {
	t.Helper()
	for _, l := range strings.Split(up.Do(t, "INFO", "clients"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "connected_clients:"); ok {
			n, err := strconv.Atoi(v)
			mustOK(t, err)
			return n
		}
	}
	t.Fatal("no connected_clients in INFO")
	return 0
}

// One tenant opening many sessions at once is held at its cap, so the
// upstream's maxclients is not used up and another tenant logs in at once.
func TestLimitsTenantFloodLeavesRoomForOthers(t *testing.T) {
	up, addr, _ := startLimitsEnv(t, 80, "limits: {max_conns_per_tenant: 40}")
	ok, refused := tenantFlood(t, addr, 300)
	if ok != 40 || refused["-ERR max number of connections for this tenant reached\r\n"] != 260 {
		t.Fatalf("alice: %d sessions, refusals %v; want 40 and 260 at her cap", ok, refused)
	}
	if n := connectedClients(t, up); n > 41 {
		t.Errorf("upstream holds %d connections", n)
	}
	loginWithin(t, "127.0.0.1", addr, "bob")
}

// Idle unauthenticated sockets, from one source or several, cannot keep
// anyone from logging in: each source and all of them together are held
// to their caps, the oldest idle socket making room for a newcomer.
func TestLimitsIdleFloodLeavesRoomForLogins(t *testing.T) {
	_, addr, admin := startLimitsEnv(t, 1000, "limits: {max_unauthenticated: 64, max_unauthenticated_per_addr: 16}")
	idleFlood(t, "127.0.0.41", addr, 300)
	for _, src := range []string{"127.0.0.42", "127.0.0.43", "127.0.0.44"} {
		idleFlood(t, src, addr, 100)
	}
	waitFor(t, 5*time.Second, "the gateway to hold at most 64 unauthenticated sockets", func() bool {
		return handshakes(t, admin) <= 64
	})
	loginWithin(t, "127.0.0.41", addr, "bob") // from the flooding source itself
	loginWithin(t, "127.0.0.45", addr, "alice")
	if n := handshakes(t, admin); n > 64 {
		t.Errorf("%d unauthenticated connections held, cap 64", n)
	}
}

// With the defaults (derived from a descriptor limit of 1024, so they are
// small enough to reach here: 98 sessions per tenant, 56 unauthenticated
// connections, 32 per source), one tenant's flood and an idle flood both
// leave another tenant able to log in within a second. The gateway runs in
// a child test process whose soft RLIMIT_NOFILE is 1024.
func TestLimitsDefaults(t *testing.T) {
	if os.Getenv("REDOUBT_E2E_NOFILE_1024") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLimitsDefaults$", "-test.count=1", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), "REDOUBT_E2E_NOFILE_1024=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("child test: %v\n%s", err, out)
		}
		return
	}
	var r syscall.Rlimit
	mustOK(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r))
	r.Cur = 1024
	mustOK(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r))

	up, addr, admin := startLimitsEnv(t, 150, "")
	ok, refused := tenantFlood(t, addr, 200)
	if ok != 98 {
		t.Fatalf("alice: %d sessions (refusals %v), want the derived cap of 98", ok, refused)
	}
	if n := connectedClients(t, up); n > 99 {
		t.Errorf("upstream holds %d connections", n)
	}
	loginWithin(t, "127.0.0.1", addr, "bob")

	idleFlood(t, "127.0.0.1", addr, 400)
	waitFor(t, 5*time.Second, "the gateway to hold at most 32 unauthenticated sockets of one source", func() bool {
		return handshakes(t, admin) <= 32
	})
	loginWithin(t, "127.0.0.1", addr, "bob")
}
