package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/tenantuser"
)

// The world of the per-tenant upstream user tests: two password-protected
// redis-servers, one with tenant_users: managed (alice in DB 3, carol in
// DB 4) and one with tenant_users: provided (bob in DB 3 and dora in DB 4,
// whose users the test creates as an operator would), plus a third tenant
// on an upstream without tenant users, where scripts stay refused.
const (
	tuAdminPass = "tu-admin-pass-0123456789"
	tuDBMine    = 3
	tuDBOther   = 4
	tuBobPass   = "bob-upstream-pass-0123456789"
	tuDoraPass  = "dora-upstream-pass-0123456789"
)

var tuSecrets = map[string]string{
	"alice": "alice-tu-secret-0123456789",
	"carol": "carol-tu-secret-0123456789",
	"bob":   "bob-tu-secret-0123456789",
	"dora":  "dora-tu-secret-0123456789",
	"eve":   "eve-tu-secret-0123456789",
}

type tuEnv struct {
	managed, provided, plain *redistest.Server
	gw                       *Gateway
	addr                     string
	cfg                      string
}

func startTenantUsersEnv(t *testing.T) *tuEnv {
	t.Helper()
	for name, s := range tuSecrets {
		t.Setenv(strings.ToUpper(name)+"_TU_SECRET", s)
	}
	t.Setenv("TU_ADMIN_PASSWORD", tuAdminPass)
	t.Setenv("BOB_UPSTREAM_PASSWORD", tuBobPass)
	t.Setenv("DORA_UPSTREAM_PASSWORD", tuDoraPass)
	e := &tuEnv{
		managed:  redistest.Start(t, "--requirepass", tuAdminPass),
		provided: redistest.Start(t, "--requirepass", tuAdminPass),
		plain:    redistest.Start(t, "--requirepass", tuAdminPass),
		addr:     freeAddr(t),
	}
	ctx := context.Background()
	p := e.direct(t, e.provided, 0)
	for _, u := range []struct {
		name, pass string
		db         int
	}{{"app-bob", tuBobPass, tuDBMine}, {"app-dora", tuDoraPass, tuDBOther}} {
		// What an operator following docs/security.md sets up.
		args := []any{"ACL", "SETUSER", u.name}
		for _, r := range tenantuser.Rules(strings.TrimPrefix(u.name, "app-"), u.db, false) {
			args = append(args, r)
		}
		args = append(args, ">"+u.pass)
		mustOK(t, p.Do(ctx, args...).Err())
	}
	e.cfg = fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  managed: {address: %s, auth: {mode: password, password_env: TU_ADMIN_PASSWORD}, tenant_users: managed}
  provided: {address: %s, auth: {mode: password, password_env: TU_ADMIN_PASSWORD}, tenant_users: provided}
  plain: {address: %s, auth: {mode: password, password_env: TU_ADMIN_PASSWORD}}
tenants:
  - {name: alice, secret_env: ALICE_TU_SECRET, upstream: managed, db: %[5]d, role: readwrite}
  - {name: carol, secret_env: CAROL_TU_SECRET, upstream: managed, db: %[6]d, role: readwrite}
  - {name: bob, secret_env: BOB_TU_SECRET, upstream: provided, db: %[5]d, role: readwrite, upstream_user: app-bob, upstream_password_env: BOB_UPSTREAM_PASSWORD}
  - {name: dora, secret_env: DORA_TU_SECRET, upstream: provided, db: %[6]d, role: readwrite, upstream_user: app-dora, upstream_password_env: DORA_UPSTREAM_PASSWORD}
  - {name: eve, secret_env: EVE_TU_SECRET, upstream: plain, db: %[5]d, role: readwrite}
  - {name: fred, secret_sha256: %[7]s, upstream: plain, db: %[6]d, role: readwrite}
`, e.addr, e.managed.Addr, e.provided.Addr, e.plain.Addr, tuDBMine, tuDBOther, sha256hex("fred-unused-secret-0123456789"))
	e.gw = startGateway(t, e.cfg, e.addr)
	return e
}

// direct is an administrator's client on srv in db, bypassing the gateway.
func (e *tuEnv) direct(t testing.TB, srv *redistest.Server, db int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: tuAdminPass, DB: db,
		Protocol: 2, DisableIdentity: true, DialTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// tenant is a go-redis client of a tenant through the gateway.
func (e *tuEnv) tenant(t testing.TB, name string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: e.addr, Username: name, Password: tuSecrets[name],
		Protocol: 2, DisableIdentity: true, DialTimeout: 5 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestTenantUserScriptEscapes: with managed and with provided users,
// scripts work inside the tenant's DB, and every way out of it fails at
// the upstream, checked by reading the neighbour's DB directly.
func TestTenantUserScriptEscapes(t *testing.T) {
	e := startTenantUsersEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		kind, me, neighbour string
		srv                 *redistest.Server
	}{
		{"managed", "alice", "carol", e.managed},
		{"provided", "bob", "dora", e.provided},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			other := e.direct(t, tc.srv, tuDBOther)
			mine := e.direct(t, tc.srv, tuDBMine)
			mustOK(t, other.Set(ctx, "secret", "neighbour-secret", 0).Err())
			mustOK(t, mine.Set(ctx, "mv", "to-move", 0).Err())
			before := tuSnapshot(t, other)
			c := e.tenant(t, tc.me)

			// Scripts run, in the tenant's own DB.
			if got, err := c.Eval(ctx, "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", []string{"k"}, "v").Text(); err != nil || got != "v" {
				t.Fatalf("EVAL in own DB: %q, %v", got, err)
			}
			if got := mine.Get(ctx, "k").Val(); got != "v" {
				t.Fatalf("the script's write is not in DB %d: %q", tuDBMine, got)
			}
			sha, err := c.ScriptLoad(ctx, "return redis.call('get', KEYS[1])").Result()
			mustOK(t, err)
			if ok, err := c.ScriptExists(ctx, sha).Result(); err != nil || !ok[0] {
				t.Fatalf("SCRIPT EXISTS: %v, %v", ok, err)
			}
			if got, err := c.EvalSha(ctx, sha, []string{"k"}).Text(); err != nil || got != "v" {
				t.Fatalf("EVALSHA: %q, %v", got, err)
			}
			if got, err := c.EvalRO(ctx, "return redis.call('get', KEYS[1])", []string{"k"}).Text(); err != nil || got != "v" {
				t.Fatalf("EVAL_RO: %q, %v", got, err)
			}

			for _, esc := range []struct{ desc, script string }{
				{"SELECT another DB and write", "redis.call('select', '4') return redis.call('set', 'escaped', '1')"},
				{"SELECT another DB and read", "redis.call('select', '4') return redis.call('get', 'secret')"},
				{"COPY into another DB", "return redis.call('copy', 'mv', 'escaped', 'db', '4')"},
				{"MOVE into another DB", "return redis.call('move', 'mv', '4')"},
				{"SWAPDB", "return redis.call('swapdb', '3', '4')"},
				{"FLUSHALL", "return redis.call('flushall')"},
				{"server-wide LASTSAVE", "return redis.call('lastsave')"},
				{"server-wide CONFIG SET", "return redis.call('config', 'set', 'maxmemory', '1')"},
				{"server-wide MEMORY STATS", "return redis.call('memory', 'stats')"},
				{"publish into the neighbour's channels", "return redis.call('publish', 't:" + tc.neighbour + ":news', 'forged')"},
			} {
				err := c.Eval(ctx, esc.script, nil).Err()
				if err == nil || !(strings.Contains(err.Error(), "can't run this command") || strings.Contains(err.Error(), "not allowed from script") ||
					strings.Contains(err.Error(), "can't publish to the channel")) {
					t.Errorf("%s: %v, want the upstream's refusal", esc.desc, err)
				}
			}
			if after := tuSnapshot(t, other); !mapsEqual(before, after) {
				t.Errorf("the neighbour's DB changed:\nbefore %v\nafter  %v", before, after)
			}
			if got := mine.Get(ctx, "mv").Val(); got != "to-move" {
				t.Errorf("mv left the tenant's DB: %q", got)
			}
			if n := e.direct(t, tc.srv, 0).DBSize(ctx).Val(); n != 0 {
				t.Errorf("DB 0 has %d keys, want none", n)
			}

			// A script the neighbour loaded runs with this tenant's rights,
			// in this tenant's DB: it cannot read the neighbour's keys.
			n := e.tenant(t, tc.neighbour)
			mustOK(t, n.Set(ctx, "secret", "neighbour-secret", 0).Err())
			nsha, err := n.ScriptLoad(ctx, "return redis.call('get', KEYS[1])").Result()
			mustOK(t, err)
			if got, err := c.EvalSha(ctx, nsha, []string{"secret"}).Result(); err != redis.Nil {
				t.Errorf("EVALSHA of the neighbour's script read %v (%v), want nil", got, err)
			}

			// The script cache and libraries stay out of reach.
			for _, args := range [][]any{{"SCRIPT", "FLUSH"}, {"SCRIPT", "KILL"}, {"FUNCTION", "FLUSH"},
				{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() return 1 end)"}, {"FUNCTION", "STATS"}} {
				if err := c.Do(ctx, args...).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
					t.Errorf("%v: %v, want NOPERM", args, err)
				}
			}
			if ok, _ := n.ScriptExists(ctx, nsha).Result(); len(ok) != 1 || !ok[0] {
				t.Error("the neighbour's script is gone from the cache")
			}
		})
	}
}

// tuSnapshot is every key of a DB with its serialized value.
func tuSnapshot(t testing.TB, c *redis.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	mustOK(t, err)
	out := map[string]string{}
	for _, k := range keys {
		d, err := c.Dump(ctx, k).Result()
		mustOK(t, err)
		out[k] = d
	}
	return out
}

// TestTenantUserManaged: the managed users exist with the tenants' DB
// pinned, come back after the upstream lost them (as after a restart) at
// the next login, and go when their tenant is removed.
func TestTenantUserManaged(t *testing.T) {
	e := startTenantUsersEnv(t)
	ctx := context.Background()
	admin := e.direct(t, e.managed, 0)
	users, err := admin.Do(ctx, "ACL", "USERS").StringSlice()
	mustOK(t, err)
	for _, u := range []string{"redoubt-alice", "redoubt-carol"} {
		if !slices.Contains(users, u) {
			t.Fatalf("ACL USERS %v lacks %s", users, u)
		}
	}
	if r := admin.Do(ctx, "ACL", "DRYRUN", "redoubt-alice", "SELECT", "4").Val(); r == "OK" {
		t.Error("redoubt-alice may SELECT 4")
	}
	if r := admin.Do(ctx, "ACL", "DRYRUN", "redoubt-alice", "SELECT", "3").Val(); r != "OK" {
		t.Errorf("redoubt-alice may not SELECT its own DB: %v", r)
	}
	// Sessions log in upstream as the tenant's user.
	a := e.tenant(t, "alice")
	mustOK(t, a.Set(ctx, "who", "alice", 0).Err())
	list, err := admin.ClientList(ctx).Result()
	mustOK(t, err)
	if !strings.Contains(list, "user=redoubt-alice") {
		t.Errorf("no upstream connection logged in as redoubt-alice:\n%s", list)
	}

	// The upstream loses the user (as a restart without an ACL file does):
	// the next login is refused, repaired, and succeeds.
	mustOK(t, admin.Do(ctx, "ACL", "DELUSER", "redoubt-alice").Err())
	a2 := e.tenant(t, "alice")
	if got, err := a2.Get(ctx, "who").Result(); err != nil || got != "alice" {
		t.Fatalf("after the user was lost: %q, %v", got, err)
	}
	if !strings.Contains(e.gw.Log.String(), "applying the users again") {
		t.Error("the gateway did not log the repair")
	}

	// carol removed from the configuration: her user goes.
	e.gw.Rewrite(t, strings.Replace(e.cfg, "  - {name: carol, secret_env: CAROL_TU_SECRET, upstream: managed, db: 4, role: readwrite}\n", "", 1))
	waitFor(t, 10*time.Second, "redoubt-carol deleted", func() bool {
		users, err := admin.Do(ctx, "ACL", "USERS").StringSlice()
		return err == nil && !slices.Contains(users, "redoubt-carol") && slices.Contains(users, "redoubt-alice")
	})
	if got, err := e.tenant(t, "alice").Get(ctx, "who").Result(); err != nil || got != "alice" {
		t.Fatalf("alice after the reload: %q, %v", got, err)
	}
}

// TestTenantUserNone: without tenant users, scripts stay refused on a
// shared upstream, with an error that says how to enable them.
func TestTenantUserNone(t *testing.T) {
	e := startTenantUsersEnv(t)
	err := e.tenant(t, "eve").Eval(context.Background(), "return 1", nil).Err()
	if err == nil || !strings.Contains(err.Error(), "NOPERM") || !strings.Contains(err.Error(), "tenant_users: managed or provided") {
		t.Fatalf("EVAL without tenant users: %v", err)
	}
}

// TestTenantUserCheck: redoubt check warns about a provided user whose
// rules let it leave its DB, and is quiet about one that cannot.
func TestTenantUserCheck(t *testing.T) {
	e := startTenantUsersEnv(t)
	ctx := context.Background()
	mustOK(t, e.direct(t, e.provided, 0).Do(ctx, "ACL", "SETUSER", "app-dora", "+@all").Err())
	code, out, errOut := runCLI(t, "check", "--config", e.gw.ConfigPath)
	if code != 0 {
		t.Fatalf("check exited %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, `upstream_user "app-dora" could leave DB 4`) || !strings.Contains(out, "SELECT 0") || !strings.Contains(out, "FLUSHALL") {
		t.Errorf("check did not warn about app-dora:\n%s", out)
	}
	if strings.Contains(out, "app-bob") {
		t.Errorf("check warned about app-bob, whose rules pin it:\n%s", out)
	}
	if strings.Contains(out, tuAdminPass) || strings.Contains(out, tuDoraPass) {
		t.Error("check printed a password")
	}
}

// TestTenantUserUpstreamRestart: the upstream restarts (no ACL file, so
// the managed users are gone); the next login is refused with WRONGPASS,
// redoubt applies the users again, and the tenant works, scripts included.
func TestTenantUserUpstreamRestart(t *testing.T) {
	port := redistest.FreePort(t)
	dir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(redistest.Binary(t), "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", tuAdminPass, "--loglevel", "warning")
		mustOK(t, cmd.Start())
		waitFor(t, 10*time.Second, "redis-server up", func() bool {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return cmd
	}
	srv := start()
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	t.Setenv("TU_ADMIN_PASSWORD", tuAdminPass)
	t.Setenv("ALICE_TU_SECRET", tuSecrets["alice"])
	t.Setenv("CAROL_TU_SECRET", tuSecrets["carol"])
	addr := freeAddr(t)
	gw := startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  managed: {address: 127.0.0.1:%d, auth: {mode: password, password_env: TU_ADMIN_PASSWORD}, tenant_users: managed}
tenants:
  - {name: alice, secret_env: ALICE_TU_SECRET, upstream: managed, db: 3, role: readwrite}
  - {name: carol, secret_env: CAROL_TU_SECRET, upstream: managed, db: 4, role: readwrite}
`, addr, port), addr)
	e := &tuEnv{addr: addr}
	ctx := context.Background()
	if err := e.tenant(t, "alice").Eval(ctx, "return redis.call('set', KEYS[1], '1')", []string{"k"}).Err(); err != nil {
		t.Fatalf("before the restart: %v", err)
	}
	_ = srv.Process.Kill()
	_ = srv.Wait()
	srv = start()
	got, err := e.tenant(t, "alice").Eval(ctx, "redis.call('set', KEYS[1], '2') return redis.call('get', KEYS[1])", []string{"k"}).Text()
	if err != nil || got != "2" {
		t.Fatalf("after the restart: %q, %v", got, err)
	}
	admin := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Password: tuAdminPass, DB: 3, Protocol: 2, DisableIdentity: true})
	defer admin.Close()
	if v := admin.Get(ctx, "k").Val(); v != "2" {
		t.Errorf("DB 3 after the restart: k = %q, want 2", v)
	}
	if r := admin.Do(ctx, "ACL", "DRYRUN", "redoubt-alice", "SELECT", "4").Val(); r == "OK" {
		t.Error("the re-created redoubt-alice may SELECT 4")
	}
	if !strings.Contains(gw.Log.String(), "applying the users again") {
		t.Error("the gateway did not log the repair")
	}
}
