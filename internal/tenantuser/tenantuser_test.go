package tenantuser

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

const adminPass = "admin-pass-0123456789"

func adminTarget(srv *redistest.Server) *upstream.Target {
	return &upstream.Target{Name: "up", Address: srv.Addr, Creds: upstream.StaticCredentials{Pass: adminPass}}
}

// do runs one command through an admin connection.
func do(t *testing.T, target *upstream.Target, args ...string) string {
	t.Helper()
	a, err := dialAdmin(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	v, err := a.do(args...)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Elems) > 0 {
		var s []string
		for _, e := range v.Elems {
			s = append(s, string(e.Str))
		}
		return strings.Join(s, " ")
	}
	if v.Type == ':' {
		return strconv.FormatInt(v.Int, 10)
	}
	return string(v.Str)
}

// TestRulesOnServer sets the rules on a real redis-server and asks it,
// with ACL DRYRUN, what the user may run.
func TestRulesOnServer(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", adminPass)
	admin := adminTarget(srv)
	args := append([]string{"ACL", "SETUSER", "redoubt-alice"}, Rules("alice", 3, false)...)
	if got := do(t, admin, append(args, ">pw")...); got != "OK" {
		t.Fatalf("ACL SETUSER: %s", got)
	}
	for _, tc := range []struct {
		cmd  string
		want bool
	}{
		{"GET k", true}, {"SET k v", true}, {"EVAL return 0", true}, {"EVALSHA abc 0", true},
		{"FCALL f 0", true}, {"SCRIPT LOAD x", true}, {"SCRIPT EXISTS x", true},
		{"SELECT 3", true}, {"FLUSHDB", true}, {"INFO", true}, {"KEYS *", true}, {"SORT l", true},
		{"CLIENT LIST", true}, {"CLIENT SETNAME n", true}, {"CLIENT ID", true}, {"HELLO 3", true},
		{"PUBLISH t:alice:news m", true}, {"SUBSCRIBE t:alice:news", true},
		{"SUBSCRIBE __keyspace@3__:k", true}, {"PSUBSCRIBE t:alice:news.*", true},
		{"SELECT 4", false}, {"SELECT 0", false}, {"SWAPDB 3 4", false}, {"MOVE k 4", false},
		{"COPY a b DB 4", false}, {"MIGRATE h 1 k 4 1", false}, {"FLUSHALL", false},
		{"CONFIG GET x", false}, {"MEMORY STATS", false}, {"SCRIPT FLUSH", false}, {"SCRIPT KILL", false},
		{"FUNCTION LOAD x", false}, {"FUNCTION FLUSH", false}, {"FUNCTION STATS", false},
		{"PUBLISH t:bob:news m", false}, {"SUBSCRIBE __keyspace@4__:k", false},
		{"CLIENT KILL ID 1", false}, {"ACL SETUSER x", false}, {"SHUTDOWN", false}, {"LASTSAVE", false},
	} {
		got := do(t, admin, append([]string{"ACL", "DRYRUN", "redoubt-alice"}, strings.Fields(tc.cmd)...)...) == "OK"
		if got != tc.want {
			t.Errorf("%s: allowed %v, want %v", tc.cmd, got, tc.want)
		}
	}
	// A readonly tenant's user cannot write, not even from a script.
	do(t, admin, append(append([]string{"ACL", "SETUSER", "redoubt-rosa"}, Rules("rosa", 3, true)...), ">pw")...)
	for cmd, want := range map[string]bool{"GET k": true, "EVAL_RO s 0": true, "SET k v": false, "FLUSHDB": false, "DEL k": false} {
		if got := do(t, admin, append([]string{"ACL", "DRYRUN", "redoubt-rosa"}, strings.Fields(cmd)...)...) == "OK"; got != want {
			t.Errorf("readonly %s: allowed %v, want %v", cmd, got, want)
		}
	}
	rosa := &upstream.Target{Name: "up", Address: srv.Addr, Creds: upstream.StaticCredentials{User: "redoubt-rosa", Pass: "pw"}}
	if got := do(t, rosa, "EVAL", "return redis.call('set', 'x', '1')", "0"); !strings.Contains(got, "can't run this command") {
		t.Errorf("readonly user's writing script: %q", got)
	}

	// A script of the user that SELECTs another DB fails inside Redis.
	user := &upstream.Target{Name: "up", Address: srv.Addr, Creds: upstream.StaticCredentials{User: "redoubt-alice", Pass: "pw"}}
	if got := do(t, user, "EVAL", "redis.call('select', '4') return redis.call('set', 'x', '1')", "0"); !strings.Contains(got, "can't run this command") {
		t.Errorf("escaping script: %q", got)
	}
	if got := do(t, admin, "EVAL", "redis.call('select', '4') return redis.call('exists', 'x')", "0"); got != "0" {
		t.Errorf("DB 4 after the script: %q", got)
	}
}

func managedSnapshot(srv *redistest.Server, tenants map[string]int) *model.Snapshot {
	snap := &model.Snapshot{Upstreams: map[string]model.Upstream{
		"up": {Name: "up", Address: srv.Addr, TenantUsers: model.TenantUsersManaged},
	}}
	for name, db := range tenants {
		d := db
		snap.Tenants = append(snap.Tenants, model.Tenant{Name: name, Upstream: "up", DB: &d, Role: model.RoleReadWrite})
	}
	return snap
}

// TestManager: Sync creates and deletes users, keeps passwords across
// syncs, and a refused login is repaired.
func TestManager(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", adminPass)
	admin := adminTarget(srv)
	do(t, admin, "ACL", "SETUSER", "redoubt-gone", "on", ">x")
	do(t, admin, "ACL", "SETUSER", "someone-else", "on", ">x")
	adminFn := func(string, model.Upstream) (*upstream.Target, error) { return admin, nil }
	ctx := context.Background()
	m := New(nil)

	m.Sync(ctx, managedSnapshot(srv, map[string]int{"a": 1, "b": 2}), adminFn)
	users := strings.Fields(do(t, admin, "ACL", "USERS"))
	for _, want := range []string{"redoubt-a", "redoubt-b", "someone-else", "default"} {
		if !slices.Contains(users, want) {
			t.Errorf("ACL USERS %v lacks %s", users, want)
		}
	}
	if slices.Contains(users, "redoubt-gone") {
		t.Error("redoubt-gone, a user of no tenant, was kept")
	}
	ca := m.Credentials(srv.Addr, "a")
	for _, c := range []upstream.Credentials{m.Credentials(srv.Addr, "nobody"), m.Credentials("127.0.0.1:1", "a")} {
		if _, _, err := c.Credentials(ctx); err == nil {
			t.Error("credentials of a user Sync never made")
		}
	}
	user, pass, err := ca.Credentials(ctx)
	if err != nil || user != "redoubt-a" || len(pass) != 64 {
		t.Fatalf("credentials %q, %d-char password, %v", user, len(pass), err)
	}
	target := &upstream.Target{Name: "up", Address: srv.Addr, Creds: ca}
	c, err := upstream.Dial(ctx, target, upstream.LoginOptions{DB: 1})
	if err != nil {
		t.Fatalf("login as redoubt-a: %v", err)
	}
	c.Close()
	if _, err := upstream.Dial(ctx, target, upstream.LoginOptions{DB: 2}); err == nil {
		t.Error("redoubt-a could SELECT 2")
	}

	// b removed: its user goes; a keeps its password.
	m.Sync(ctx, managedSnapshot(srv, map[string]int{"a": 1}), adminFn)
	if users := strings.Fields(do(t, admin, "ACL", "USERS")); slices.Contains(users, "redoubt-b") {
		t.Errorf("redoubt-b kept after its tenant went: %v", users)
	}
	if _, pass2, _ := ca.Credentials(ctx); pass2 != pass {
		t.Error("the password changed across syncs")
	}

	// The upstream loses the user. A sync with the same users sends
	// nothing (every store change would otherwise cost a round of ACL
	// SETUSER per tenant); the next dial repairs and logs in.
	do(t, admin, "ACL", "DELUSER", "redoubt-a")
	m.Sync(ctx, managedSnapshot(srv, map[string]int{"a": 1}), adminFn)
	if users := strings.Fields(do(t, admin, "ACL", "USERS")); slices.Contains(users, "redoubt-a") {
		t.Errorf("an unchanged sync applied the users again: %v", users)
	}
	c, err = upstream.Dial(ctx, target, upstream.LoginOptions{DB: 1})
	if err != nil {
		t.Fatalf("login after the user was lost: %v", err)
	}
	c.Close()

	// tenant_users switched off: the users go.
	snap := managedSnapshot(srv, map[string]int{"a": 1})
	u := snap.Upstreams["up"]
	u.TenantUsers = ""
	snap.Upstreams["up"] = u
	m.Sync(ctx, snap, adminFn)
	if users := strings.Fields(do(t, admin, "ACL", "USERS")); slices.Contains(users, "redoubt-a") {
		t.Errorf("redoubt-a kept after tenant_users went: %v", users)
	}
	if _, _, err := ca.Credentials(ctx); err == nil {
		t.Error("credentials of a user that is gone")
	}
}

// TestEscapes: check's question to the upstream about a provided user.
func TestEscapes(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", adminPass)
	admin := adminTarget(srv)
	do(t, admin, append(append([]string{"ACL", "SETUSER", "tight"}, Rules("tight", 5, false)...), ">pw")...)
	do(t, admin, "ACL", "SETUSER", "loose", "on", ">pw", "~*", "&*", "+@all", "-flushall")
	ctx := context.Background()
	if open, err := Escapes(ctx, admin, "tight", 5); err != nil || len(open) != 0 {
		t.Errorf("tight: %v, %v; want none", open, err)
	}
	open, err := Escapes(ctx, admin, "loose", 5)
	if err != nil || !slices.Contains(open, "SELECT 0") || !slices.Contains(open, "CONFIG SET maxmemory 0") || slices.Contains(open, "FLUSHALL") {
		t.Errorf("loose: %v, %v", open, err)
	}
	if _, err := Escapes(ctx, admin, "nosuch", 5); err == nil {
		t.Error("no error for an unknown user")
	}
}
