package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Isolation does not depend on when a session started (issue: a lone
// tenant with db was not pinned, and kept its unpinned session when a
// second tenant joined its upstream). Checked on the server itself.
func TestIsolationSurvivesReload(t *testing.T) {
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("CAROL_SECRET", carolSecret)
	up := redistest.Start(t)
	addr := freeAddr(t)
	cfg := func(bob, extra string) string {
		return fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  main: {address: %s}
tenants:
  - {name: bob, secret_env: BOB_SECRET, upstream: main, %s}
%s`, addr, up.Addr, bob, extra)
	}
	ctx := context.Background()
	dbKeys := func(db int) string {
		c := redis.NewClient(&redis.Options{Addr: up.Addr, DB: db, Protocol: 2, DisableIdentity: true})
		defer c.Close()
		keys, err := c.Keys(ctx, "*").Result()
		mustOK(t, err)
		return strings.Join(keys, ",")
	}

	// bob alone, role full, db 3: pinned all the same (inspected, not
	// pass-through), so SELECT 4 is refused and his writes land in DB 3.
	g := startGateway(t, cfg("db: 3, role: full", ""), addr)
	bob := loggedIn(t, addr, "bob", bobSecret)
	bob.send(respCmd("SELECT", "4"))
	if l := bob.line(); !strings.HasPrefix(l, "-") {
		t.Fatalf("a lone tenant with db could SELECT 4: %q", l)
	}
	bob.send(respCmd("SET", "before", "x"))
	bob.expect("+OK\r\n")

	// carol joins the upstream on DB 4: bob's live session stays pinned.
	if n := reload(t, g, cfg("db: 3, role: full", "  - {name: carol, secret_env: CAROL_SECRET, upstream: main, db: 4}\n")); n != 0 {
		t.Fatalf("adding carol ended %d sessions", n)
	}
	bob.send(respCmd("SELECT", "4") + respCmd("SET", "after", "y"))
	if l := bob.line(); !strings.HasPrefix(l, "-") {
		t.Fatalf("after carol joined, bob's old session could SELECT 4: %q", l)
	}
	bob.expect("+OK\r\n")
	if k3, k4 := dbKeys(3), dbKeys(4); k3 != "after,before" && k3 != "before,after" || k4 != "" {
		t.Fatalf("DB 3 holds %q, DB 4 holds %q", k3, k4)
	}

	// Anything bob's isolation depends on changes: his live session ends,
	// and a new one gets the new isolation.
	for i, tc := range []struct {
		desc, bob string
	}{
		{"db changed", "db: 5, role: full"},
		{"role changed", "db: 5, role: readonly"},
		{"rules changed", "db: 5, role: readonly, commands: \"-get\""},
	} {
		live := loggedIn(t, addr, "bob", bobSecret)
		carol := loggedIn(t, addr, "carol", carolSecret)
		want := 1
		if i == 0 {
			want = 2 // the first bob session too
		}
		if n := reload(t, g, cfg(tc.bob, "  - {name: carol, secret_env: CAROL_SECRET, upstream: main, db: 4}\n")); n != want {
			t.Fatalf("%s: reload ended %d sessions, want bob's %d", tc.desc, n, want)
		}
		if !closedWithin(live, time.Second) || i == 0 && !closedWithin(bob, time.Second) {
			t.Fatalf("%s: bob's session survived", tc.desc)
		}
		carol.send(respCmd("PING"))
		carol.expect("+PONG\r\n")
	}
	if !strings.Contains(g.Log.String(), `reason="route changed"`) {
		t.Error("the disconnect lines do not say the route changed")
	}
	bob = loggedIn(t, addr, "bob", bobSecret)
	bob.send(respCmd("DBSIZE"))
	bob.expect(":0\r\n") // DB 5, empty
}

// check refuses two tenants on one upstream and DB unless both opt in with
// share_db, and a tenant without db on a shared upstream.
func TestCheckSharedUpstreamRules(t *testing.T) {
	t.Setenv("A_SECRET", "a-secret-0123456789")
	t.Setenv("B_SECRET", "b-secret-0123456789")
	for _, tc := range []struct {
		desc, a, b, want string
	}{
		{"same DB", "db: 2", "db: 2", `tenants[1].db: 2 on upstream "main" is tenant "a"'s DB`},
		{"same DB, one opts in", "db: 2, share_db: true", "db: 2", "set share_db: true on both tenants"},
		{"same DB, both opt in", "db: 2, share_db: true", "db: 2, share_db: true", ""},
		{"readwrite without db on a shared upstream", "db: 2", "role: readwrite", "tenants[1].db: required on a shared upstream"},
		{"joining a tenant without db", "role: readonly", "db: 3", `tenants[1].upstream: upstream "main" is used by tenant "a" without db`},
		{"distinct DBs", "db: 2", "db: 3", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(`
listen: [{address: 127.0.0.1:6380}]
upstreams: {main: {address: 127.0.0.1:6379}}
tenants:
  - {name: a, secret_env: A_SECRET, upstream: main, `+tc.a+`}
  - {name: b, secret_env: B_SECRET, upstream: main, `+tc.b+`}
`), 0o600)
			code, out, errOut := runCLI(t, "check", "--config", path)
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("refused: %s", errOut)
				}
				return
			}
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, %s%s; want %q", code, out, errOut, tc.want)
			}
		})
	}
}
