package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The escape suite of issue 3: alice, pinned to DB 3 with role full (so
// every command meets the isolation rules rather than a role refusal),
// tries every known way out of her DB on a redis-server she shares with
// carol (DB 4). Each attempt runs alone, pipelined between GETs and inside
// MULTI/EXEC, each on a fresh session, and is followed by evidence taken
// on the server itself: DB 0 and DB 4 unchanged, server-wide state
// unchanged, carol's session alive in her DB, and no reply alice received
// mentioning carol or another DB.

// isoCase is one attempt.
type isoCase struct {
	desc string
	args []string
	want isoMatch // the reply, alone and pipelined
	// queued is the reply inside MULTI when it differs from "+QUEUED" for
	// an allowed command or from want for a refused one.
	queued isoMatch
	// exec is the command's element of EXEC's reply (default want).
	exec isoMatch
	// clears: the command empties alice's DB (FLUSHALL as FLUSHDB).
	clears bool
	// prep runs before the command and returns extra evidence to check after.
	prep func(t *testing.T, e *isoEnv) func(t *testing.T)
	// undo repairs the server after the evidence was taken, so that one
	// escape that got through does not make every later case fail too.
	undo func(t *testing.T, e *isoEnv)
}

func TestIsolationEscapes(t *testing.T) {
	e := startIsoEnv(t)
	carolID := e.upstreamID(t, "carol")
	carolAddr := clientField(e.clientLines(t, "id="+carolID+" ")[0], "addr")
	port := strconv.Itoa(e.srv.Port)
	deny := isoNoPerm
	inMulti := isoError("ERR redoubt") // filtered replies cannot be rewritten inside EXEC
	emptied := func(t *testing.T, e *isoEnv) func(t *testing.T) {
		return func(t *testing.T) {
			if got := e.snapshot(t, isoDBAlice); len(got) != 0 {
				t.Errorf("alice's DB 3 not emptied: %v", got)
			}
		}
	}
	unpause := func(t *testing.T, e *isoEnv) {
		mustOK(t, e.direct(t, 0).Do(context.Background(), "CLIENT", "UNPAUSE").Err())
	}
	masterAgain := func(t *testing.T, e *isoEnv) {
		mustOK(t, e.direct(t, 0).Do(context.Background(), "REPLICAOF", "NO", "ONE").Err())
	}
	scanAll := isoFunc("SCAN reply: cursor 0 and alice's keys", func(r isoReply) bool {
		return len(r.elems) == 2 && r.elems[0].str == "0" && isoStrSet(isoAliceKeys...).ok(r.elems[1])
	})

	cases := []isoCase{
		// SELECT: only the pinned DB, in Redis's canonical integer form.
		{desc: "SELECT pinned", args: []string{"SELECT", "3"}, want: isoStatus("OK")},
		{desc: "SELECT 4", args: []string{"SELECT", "4"}, want: deny("select")},
		{desc: "SELECT 0", args: []string{"SELECT", "0"}, want: deny("select")},
		{desc: "SELECT 03", args: []string{"SELECT", "03"}, want: deny("select")},
		{desc: "SELECT +4", args: []string{"SELECT", "+4"}, want: deny("select")},
		{desc: "SELECT -1", args: []string{"SELECT", "-1"}, want: deny("select")},
		{desc: "SELECT 15", args: []string{"SELECT", "15"}, want: deny("select")},
		{desc: "SELECT lowercase", args: []string{"select", "4"}, want: deny("select")},
		{desc: "SELECT two args", args: []string{"SELECT", "3", "4"}, want: isoError("ERR wrong number of arguments")},

		// FLUSHALL becomes FLUSHDB, options kept.
		{desc: "FLUSHALL", args: []string{"FLUSHALL"}, want: isoStatus("OK"), clears: true, prep: emptied},
		{desc: "FLUSHALL SYNC", args: []string{"FLUSHALL", "SYNC"}, want: isoStatus("OK"), clears: true, prep: emptied},
		{desc: "FLUSHALL ASYNC", args: []string{"flushall", "async"}, want: isoStatus("OK"), clears: true,
			prep: func(t *testing.T, e *isoEnv) func(t *testing.T) {
				// An asynchronous flush is counted in lazyfreed_objects once
				// the background thread has freed the keys; a synchronous one
				// is not: this shows ASYNC reached the server.
				before := e.infoInt(t, "memory", "lazyfreed_objects")
				return func(t *testing.T) {
					emptied(t, e)(t)
					waitFor(t, 10*time.Second, "lazyfreed_objects to grow by alice's keys", func() bool {
						return e.infoInt(t, "memory", "lazyfreed_objects") >= before+int64(len(isoAliceKeys))
					})
				}
			}},

		// Commands that reach another DB.
		{desc: "SWAPDB 3 4", args: []string{"SWAPDB", "3", "4"}, want: deny("swapdb")},
		{desc: "SWAPDB 0 3", args: []string{"SWAPDB", "0", "3"}, want: deny("swapdb")},
		{desc: "SWAPDB 3 3", args: []string{"SWAPDB", "3", "3"}, want: deny("swapdb")},
		{desc: "MOVE to 4", args: []string{"MOVE", "mv", "4"}, want: deny("move")},
		{desc: "MOVE to 0", args: []string{"MOVE", "mv", "0"}, want: deny("move")},
		{desc: "COPY DB 4", args: []string{"COPY", "a", "a2", "DB", "4"}, want: deny("copy")},
		{desc: "COPY DB 0 REPLACE", args: []string{"COPY", "a", "shared", "DB", "0", "REPLACE"}, want: deny("copy")},
		{desc: "COPY last DB wins", args: []string{"COPY", "a", "a2", "db", "3", "db", "4"}, want: deny("copy")},
		{desc: "COPY DB 04", args: []string{"COPY", "a", "a2", "DB", "04"}, want: deny("copy")},
		{desc: "COPY same DB", args: []string{"COPY", "a", "a2"}, want: isoInt(1)},
		{desc: "COPY DB pinned", args: []string{"COPY", "a", "a2", "DB", "3"}, want: isoInt(1)},
		// MIGRATE names the server's password so that, forwarded, it would work.
		{desc: "MIGRATE to DB 4", args: []string{"MIGRATE", "127.0.0.1", port, "mv", "4", "5000", "AUTH", isoRedisPass}, want: deny("migrate")},
		{desc: "MIGRATE COPY KEYS to DB 0", args: []string{"MIGRATE", "127.0.0.1", port, "", "0", "5000", "COPY", "AUTH", isoRedisPass, "KEYS", "a", "b"}, want: deny("migrate")},
		{desc: "MIGRATE to pinned DB", args: []string{"MIGRATE", "127.0.0.1", port, "mv", "3", "5000", "AUTH", isoRedisPass}, want: deny("migrate")},

		// Scripts and functions: Lua can SELECT.
		{desc: "EVAL SELECT 4", args: []string{"EVAL", "redis.call('SELECT', 4) return redis.call('SET', 'escaped', 'eval')", "0"}, want: deny("eval")},
		{desc: "EVAL harmless", args: []string{"eval", "return 1", "0"}, want: deny("eval")},
		{desc: "EVAL_RO SELECT 4", args: []string{"EVAL_RO", "redis.call('SELECT', 4) return redis.call('GET', 'carol:k')", "0"}, want: deny("eval_ro")},
		{desc: "EVALSHA", args: []string{"EVALSHA", e.sha, "0"}, want: deny("evalsha")},
		{desc: "EVALSHA_RO", args: []string{"EVALSHA_RO", e.sha, "0"}, want: deny("evalsha_ro")},
		{desc: "FCALL", args: []string{"FCALL", "escape", "0"}, want: deny("fcall")},
		{desc: "FCALL_RO", args: []string{"FCALL_RO", "escape_ro", "0"}, want: deny("fcall_ro")},
		{desc: "FUNCTION LIST", args: []string{"FUNCTION", "LIST"}, want: deny("function|list")},
		{desc: "FUNCTION FLUSH", args: []string{"FUNCTION", "FLUSH"}, want: deny("function|flush")},
		{desc: "FUNCTION DELETE", args: []string{"FUNCTION", "DELETE", "isolib"}, want: deny("function|delete")},
		{desc: "FUNCTION LOAD", args: []string{"FUNCTION", "LOAD", "#!lua name=evil\nredis.register_function('x', function() return 1 end)"}, want: deny("function|load")},
		{desc: "FUNCTION DUMP", args: []string{"FUNCTION", "DUMP"}, want: deny("function|dump")},
		{desc: "FUNCTION STATS", args: []string{"FUNCTION", "STATS"}, want: deny("function|stats")},
		{desc: "SCRIPT FLUSH", args: []string{"SCRIPT", "FLUSH"}, want: deny("script|flush")},
		{desc: "SCRIPT LOAD", args: []string{"SCRIPT", "LOAD", "return 1"}, want: deny("script|load")},
		{desc: "SCRIPT EXISTS", args: []string{"SCRIPT", "EXISTS", e.sha}, want: deny("script|exists")},
		{desc: "SCRIPT KILL", args: []string{"SCRIPT", "KILL"}, want: deny("script|kill")},

		// Other tenants' connections.
		{desc: "CLIENT LIST", args: []string{"CLIENT", "LIST"}, queued: inMulti,
			// Sessions of earlier cases may still be closing: count them in
			// TestIsolationClientList, where every session is known.
			want: isoFunc("only alice's connections, in DB 3", func(r isoReply) bool {
				for _, l := range strings.Split(strings.TrimSpace(r.str), "\n") {
					if !strings.Contains(l, " db=3 ") {
						return false
					}
				}
				return r.typ == '$' && r.str != "" && e.ownedBy(t, r.str, "alice")
			})},
		{desc: "CLIENT LIST ID carol", args: []string{"CLIENT", "LIST", "ID", carolID}, queued: inMulti, want: isoBulk("")},
		{desc: "CLIENT KILL ID", args: []string{"CLIENT", "KILL", "ID", carolID}, want: deny("client|kill")},
		{desc: "CLIENT KILL ADDR", args: []string{"CLIENT", "KILL", "ADDR", carolAddr}, want: deny("client|kill")},
		{desc: "CLIENT KILL old form", args: []string{"CLIENT", "KILL", carolAddr}, want: deny("client|kill")},
		{desc: "CLIENT KILL TYPE normal", args: []string{"client", "kill", "type", "normal"}, want: deny("client|kill")},
		{desc: "CLIENT PAUSE", args: []string{"CLIENT", "PAUSE", "100000"}, want: deny("client|pause"), undo: unpause},
		{desc: "CLIENT PAUSE WRITE", args: []string{"CLIENT", "PAUSE", "100000", "WRITE"}, want: deny("client|pause"), undo: unpause},
		{desc: "CLIENT UNPAUSE", args: []string{"CLIENT", "UNPAUSE"}, want: deny("client|unpause")},
		{desc: "CLIENT NO-EVICT", args: []string{"CLIENT", "NO-EVICT", "on"}, want: deny("client|no-evict")},
		{desc: "CLIENT TRACKING ON", args: []string{"CLIENT", "TRACKING", "on"}, want: deny("client|tracking")},
		{desc: "CLIENT TRACKING REDIRECT", args: []string{"CLIENT", "TRACKING", "ON", "REDIRECT", carolID}, want: deny("client|tracking")},
		{desc: "CLIENT TRACKING BCAST", args: []string{"CLIENT", "TRACKING", "ON", "BCAST"}, want: deny("client|tracking")},
		{desc: "CLIENT TRACKING OFF", args: []string{"CLIENT", "TRACKING", "off"}, want: isoStatus("OK")},
		{desc: "CLIENT UNBLOCK", args: []string{"CLIENT", "UNBLOCK", carolID}, want: deny("client|unblock")},

		// Observing the whole server.
		{desc: "MONITOR", args: []string{"MONITOR"}, want: deny("monitor")},
		{desc: "SLOWLOG GET", args: []string{"SLOWLOG", "GET"}, want: deny("slowlog|get")},
		{desc: "SLOWLOG RESET", args: []string{"SLOWLOG", "RESET"}, want: deny("slowlog|reset")},
		{desc: "LATENCY LATEST", args: []string{"LATENCY", "LATEST"}, want: deny("latency|latest")},
		{desc: "LATENCY DOCTOR", args: []string{"LATENCY", "DOCTOR"}, want: deny("latency|doctor")},
		{desc: "LATENCY RESET", args: []string{"LATENCY", "RESET"}, want: deny("latency|reset")},
		{desc: "MEMORY USAGE", args: []string{"MEMORY", "USAGE", "a"}, want: deny("memory|usage")},
		{desc: "MEMORY STATS", args: []string{"MEMORY", "STATS"}, want: deny("memory|stats")},
		{desc: "MEMORY PURGE", args: []string{"MEMORY", "PURGE"}, want: deny("memory|purge")},
		{desc: "INFO keyspace", args: []string{"INFO", "keyspace"}, queued: inMulti, want: isoInfo(true)},
		{desc: "INFO", args: []string{"INFO"}, queued: inMulti, want: isoInfo(true)},
		{desc: "INFO everything", args: []string{"INFO", "everything"}, queued: inMulti, want: isoInfo(true)},
		{desc: "INFO all", args: []string{"info", "all"}, queued: inMulti, want: isoInfo(true)},
		{desc: "INFO server keyspace", args: []string{"INFO", "server", "keyspace"}, queued: inMulti, want: isoInfo(true)},
		{desc: "INFO server", args: []string{"INFO", "server"}, queued: inMulti, want: isoInfo(false)},

		// Server administration.
		{desc: "CONFIG GET", args: []string{"CONFIG", "GET", "maxmemory"}, want: deny("config|get")},
		{desc: "CONFIG GET mixed case", args: []string{"CoNfIg", "gEt", "*"}, want: deny("config|get")},
		{desc: "CONFIG SET", args: []string{"CONFIG", "SET", "maxmemory", "1mb"}, want: deny("config|set")},
		{desc: "CONFIG SET notify", args: []string{"CONFIG", "SET", "notify-keyspace-events", "KEA"}, want: deny("config|set")},
		{desc: "CONFIG RESETSTAT", args: []string{"CONFIG", "RESETSTAT"}, want: deny("config|resetstat")},
		{desc: "CONFIG REWRITE", args: []string{"CONFIG", "REWRITE"}, want: deny("config|rewrite")},
		{desc: "DEBUG SLEEP", args: []string{"DEBUG", "SLEEP", "0"}, want: deny("debug")},
		{desc: "DEBUG OBJECT", args: []string{"DEBUG", "OBJECT", "a"}, want: deny("debug")},
		{desc: "DEBUG RELOAD", args: []string{"DEBUG", "RELOAD"}, want: deny("debug")},
		{desc: "SHUTDOWN", args: []string{"SHUTDOWN"}, want: deny("shutdown")},
		{desc: "SHUTDOWN NOSAVE", args: []string{"SHUTDOWN", "NOSAVE", "NOW", "FORCE"}, want: deny("shutdown")},
		{desc: "SAVE", args: []string{"SAVE"}, want: deny("save")},
		{desc: "BGSAVE", args: []string{"BGSAVE"}, want: deny("bgsave")},
		{desc: "BGSAVE SCHEDULE", args: []string{"BGSAVE", "SCHEDULE"}, want: deny("bgsave")},
		{desc: "BGREWRITEAOF", args: []string{"BGREWRITEAOF"}, want: deny("bgrewriteaof")},
		{desc: "LASTSAVE", args: []string{"LASTSAVE"}, want: deny("lastsave")},
		{desc: "ROLE", args: []string{"ROLE"}, want: deny("role")},
		{desc: "REPLICAOF", args: []string{"REPLICAOF", "127.0.0.1", "1"}, want: deny("replicaof"), undo: masterAgain},
		{desc: "SLAVEOF", args: []string{"SLAVEOF", "127.0.0.1", "1"}, want: deny("slaveof"), undo: masterAgain},
		{desc: "REPLICAOF NO ONE", args: []string{"REPLICAOF", "NO", "ONE"}, want: deny("replicaof")},
		{desc: "SYNC", args: []string{"SYNC"}, want: deny("sync")},
		{desc: "PSYNC", args: []string{"PSYNC", "?", "-1"}, want: deny("psync")},
		{desc: "REPLCONF", args: []string{"REPLCONF", "listening-port", "1"}, want: deny("replconf")},
		{desc: "ACL SETUSER", args: []string{"ACL", "SETUSER", "evil", "on", ">pw", "+@all", "~*"}, want: deny("acl|setuser")},
		{desc: "ACL LIST", args: []string{"ACL", "LIST"}, want: deny("acl|list")},
		{desc: "ACL WHOAMI", args: []string{"ACL", "WHOAMI"}, want: deny("acl|whoami")},
		{desc: "ACL DELUSER", args: []string{"ACL", "DELUSER", "default"}, want: deny("acl|deluser")},
		{desc: "MODULE LIST", args: []string{"MODULE", "LIST"}, want: deny("module|list")},
		{desc: "MODULE LOAD", args: []string{"MODULE", "LOAD", "/nonexistent/evil.so"}, want: deny("module|load")},
		{desc: "CLUSTER INFO", args: []string{"CLUSTER", "INFO"}, want: deny("cluster|info")},
		{desc: "CLUSTER NODES", args: []string{"CLUSTER", "NODES"}, want: deny("cluster|nodes")},
		{desc: "FAILOVER", args: []string{"FAILOVER"}, want: deny("failover")},
		{desc: "FAILOVER ABORT", args: []string{"FAILOVER", "ABORT"}, want: deny("failover")},

		// Fine, and per DB.
		{desc: "KEYS", args: []string{"KEYS", "*"}, want: isoStrSet(isoAliceKeys...)},
		{desc: "SCAN", args: []string{"SCAN", "0", "COUNT", "1000"}, want: scanAll},
		{desc: "DBSIZE", args: []string{"DBSIZE"}, want: isoInt(int64(len(isoAliceKeys)))},
		{desc: "RANDOMKEY", args: []string{"RANDOMKEY"}, want: isoOneOf(isoAliceKeys...)},
		{desc: "EXISTS carol's key", args: []string{"EXISTS", "shared", "carol:k", "zero:list"}, want: isoInt(1)},
		{desc: "WAIT", args: []string{"WAIT", "0", "0"}, want: isoInt(0)},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) { runIsoCase(t, e, tc) })
	}
}

// isoInfo checks an INFO reply: the keyspace section, if any, lists only
// DB 3 (which must be there when withKeyspace).
func isoInfo(withKeyspace bool) isoMatch {
	return isoFunc("INFO with only db3 in the keyspace", func(r isoReply) bool {
		if r.typ != '$' && r.typ != '=' {
			return false
		}
		var dbs []string
		for _, l := range strings.Split(r.str, "\n") {
			if strings.HasPrefix(l, "db") && strings.Contains(l, ":keys=") {
				dbs = append(dbs, l[:strings.Index(l, ":")])
			}
		}
		if withKeyspace {
			return slices.Equal(dbs, []string{"db3"})
		}
		return len(dbs) == 0
	})
}

// runIsoCase runs one attempt alone, pipelined and inside MULTI.
func runIsoCase(t *testing.T, e *isoEnv, tc isoCase) {
	what := strings.Join(tc.args, " ")
	after := isoBulk(isoAliceValue)
	if tc.clears {
		after = isoNil()
	}
	run := func(t *testing.T, body func(t *testing.T, a *isoConn)) {
		e.reseedAlice(t)
		var extra func(*testing.T)
		if tc.prep != nil {
			extra = tc.prep(t, e)
		}
		a := e.dial(t, "alice")
		body(t, a)
		// Still alice, still in DB 3, the session still usable.
		after.check(t, "GET shared on the same session afterwards", a.do("GET", "shared"))
		if extra != nil {
			extra(t)
		}
		e.verifyUntouched(t)
		if tc.undo != nil {
			tc.undo(t, e)
		}
	}
	t.Run("alone", func(t *testing.T) {
		run(t, func(t *testing.T, a *isoConn) { tc.want.check(t, what, a.do(tc.args...)) })
	})
	t.Run("pipelined", func(t *testing.T) {
		run(t, func(t *testing.T, a *isoConn) {
			a.write([]string{"GET", "shared"}, tc.args, []string{"GET", "shared"})
			isoBulk(isoAliceValue).check(t, "GET before", a.read())
			tc.want.check(t, what, a.read())
			after.check(t, "GET after", a.read())
		})
	})
	t.Run("multi", func(t *testing.T) {
		queued, exec := tc.queued, tc.exec
		if queued.ok == nil {
			queued = isoStatus("QUEUED")
			if tc.want.refused {
				queued = tc.want
			}
		}
		if exec.ok == nil {
			exec = tc.want
		}
		run(t, func(t *testing.T, a *isoConn) {
			a.write([]string{"MULTI"}, tc.args, []string{"GET", "shared"}, []string{"EXEC"})
			isoStatus("OK").check(t, "MULTI", a.read())
			queued.check(t, what+" inside MULTI", a.read())
			isoStatus("QUEUED").check(t, "GET inside MULTI", a.read())
			r := a.read()
			if queued.refused {
				// As redis-server: a command refused at queue time dooms
				// the transaction, and nothing in it runs.
				isoError("EXECABORT").check(t, "EXEC", r)
				return
			}
			if r.typ != '*' || len(r.elems) != 2 {
				t.Fatalf("EXEC: got %s, want 2 replies", r)
			}
			exec.check(t, what+" in EXEC", r.elems[0])
			after.check(t, "GET in EXEC", r.elems[1])
		})
	})
}

// TestIsolationClientUnblock: CLIENT UNBLOCK of carol's blocked BLPOP is
// refused, and carol's BLPOP later returns the value pushed, not the nil
// an unblock would have given it.
func TestIsolationClientUnblock(t *testing.T) {
	e := startIsoEnv(t)
	for _, tc := range []struct {
		desc string
		args func(id string) []string
	}{
		{"timeout", func(id string) []string { return []string{"CLIENT", "UNBLOCK", id} }},
		{"error", func(id string) []string { return []string{"CLIENT", "UNBLOCK", id, "ERROR"} }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := e.dial(t, "carol")
			c.write([]string{"BLPOP", "carol:wait", "0"})
			var id string
			waitFor(t, 10*time.Second, "carol's BLPOP to block", func() bool {
				carol := e.tenantIDs(t, "carol")
				for _, l := range e.clientLines(t, " cmd=blpop ") {
					if carol[clientField(l, "id")] {
						id = clientField(l, "id")
					}
				}
				return id != ""
			})
			a := e.dial(t, "alice")
			a.write([]string{"GET", "shared"}, tc.args(id), []string{"GET", "shared"})
			isoBulk(isoAliceValue).check(t, "GET", a.read())
			isoNoPerm("client|unblock").check(t, "CLIENT UNBLOCK", a.read())
			isoBulk(isoAliceValue).check(t, "GET", a.read())
			mustOK(t, e.direct(t, isoDBCarol).RPush(context.Background(), "carol:wait", "pushed").Err())
			if r := c.read(); !slices.Equal(r.strs(), []string{"carol:wait", "pushed"}) {
				t.Errorf("carol's BLPOP: got %s, want the pushed value", r)
			}
			e.verifyUntouched(t)
		})
	}
}

// TestIsolationClientList: with two alice sessions and two carol sessions
// open, each tenant's CLIENT LIST shows exactly its own two connections,
// also after alice names one of hers like carol's (the filter goes by
// upstream client id, not by name), and in RESP3.
func TestIsolationClientList(t *testing.T) {
	e := startIsoEnv(t)
	a1, a2 := e.dial(t, "alice"), e.dial(t, "alice")
	c2 := e.dial(t, "carol")
	ownLines := func(t *testing.T, c *isoConn, tenant string) []string {
		t.Helper()
		r := c.do("CLIENT", "LIST")
		if r.typ != '$' && r.typ != '=' {
			t.Fatalf("CLIENT LIST: %s", r)
		}
		body := strings.TrimPrefix(r.str, "txt:")
		lines := strings.Split(strings.TrimSpace(body), "\n")
		for _, l := range lines {
			if !strings.Contains(l, " db="+map[string]string{"alice": "3", "carol": "4"}[tenant]+" ") {
				t.Errorf("%s sees a connection outside its DB: %s", tenant, l)
			}
		}
		return lines
	}
	if all := e.clientLines(t); len(all) < 5 {
		t.Fatalf("the server should list at least 5 connections, got %d", len(all))
	}
	if got := ownLines(t, a1, "alice"); len(got) != 2 {
		t.Errorf("alice's CLIENT LIST: %d lines, want 2: %q", len(got), got)
	}
	if got := ownLines(t, c2, "carol"); len(got) != 2 {
		t.Errorf("carol's CLIENT LIST: %d lines, want 2: %q", len(got), got)
	}
	if r := a2.do("CLIENT", "SETNAME", "redoubt-carol"); r.raw != "+OK\r\n" {
		t.Fatalf("CLIENT SETNAME: %s", r)
	}
	if got := ownLines(t, c2.with(t), "carol"); len(got) != 2 {
		t.Errorf("carol's CLIENT LIST after alice renamed a connection: %d lines, want 2: %q", len(got), got)
	}
	a1.forbid = nil // alice's renamed connection now carries the marker in its name
	if got := ownLines(t, a1, "alice"); len(got) != 2 {
		t.Errorf("alice's CLIENT LIST after renaming: %d lines, want 2: %q", len(got), got)
	}
	a3 := e.dial(t, "alice")
	if r := a3.do("HELLO", "3"); r.typ != '%' {
		t.Fatalf("HELLO 3: %s", r)
	}
	a3.forbid = nil
	r := a3.do("CLIENT", "LIST")
	if r.typ != '=' || !strings.HasPrefix(r.str, "txt:") {
		t.Errorf("RESP3 CLIENT LIST: got %s, want a verbatim string", r)
	}
	if got := strings.Split(strings.TrimSpace(strings.TrimPrefix(r.str, "txt:")), "\n"); len(got) != 3 {
		t.Errorf("RESP3 CLIENT LIST: %d lines, want alice's 3: %q", len(got), got)
	}
	ctx := context.Background()
	gr := e.dialGoRedis(t, "alice", 3)
	list, err := gr.ClientList(ctx).Result()
	mustOK(t, err)
	if n := len(strings.Split(strings.TrimSpace(list), "\n")); n != 4 {
		t.Errorf("go-redis CLIENT LIST: %d lines, want alice's 4:\n%s", n, list)
	}
	if strings.Contains(list, " db=4 ") {
		t.Errorf("go-redis CLIENT LIST shows DB 4:\n%s", list)
	}
}

// TestIsolationReset: RESET puts an upstream connection back in DB 0 and
// logs it out; through the gateway the session stays alice's, logged in,
// in DB 3 (the server requires a password, so a missing re-login would
// show as NOAUTH, and DB 0 holds a different "shared").
func TestIsolationReset(t *testing.T) {
	e := startIsoEnv(t)
	for _, tc := range []struct {
		desc string
		cmds [][]string
		want []isoMatch
	}{
		{"alone", [][]string{{"RESET"}}, []isoMatch{isoStatus("RESET")}},
		{"pipelined", [][]string{{"GET", "shared"}, {"RESET"}, {"GET", "shared"}, {"SET", "k", "v"}},
			[]isoMatch{isoBulk(isoAliceValue), isoStatus("RESET"), isoBulk(isoAliceValue), isoStatus("OK")}},
		// RESET inside MULTI runs at once and ends the transaction, as in Redis.
		{"inside MULTI", [][]string{{"MULTI"}, {"SET", "k", "v"}, {"RESET"}, {"EXEC"}, {"GET", "shared"}},
			[]isoMatch{isoStatus("OK"), isoStatus("QUEUED"), isoStatus("RESET"), isoError("ERR EXEC without MULTI"), isoBulk(isoAliceValue)}},
		{"after SELECT pinned", [][]string{{"SELECT", "3"}, {"RESET"}, {"DBSIZE"}},
			[]isoMatch{isoStatus("OK"), isoStatus("RESET"), isoInt(int64(len(isoAliceKeys)))}},
		{"twice, then a write", [][]string{{"RESET"}, {"RESET"}, {"SET", "after-reset", "1"}, {"GET", "shared"}},
			[]isoMatch{isoStatus("RESET"), isoStatus("RESET"), isoStatus("OK"), isoBulk(isoAliceValue)}},
		{"after HELLO 3, back to RESP2", [][]string{{"HELLO", "3"}, {"RESET"}, {"HGETALL", "ah"}},
			[]isoMatch{isoFunc("a RESP3 map", func(r isoReply) bool { return r.typ == '%' }), isoStatus("RESET"),
				isoFunc("a RESP2 array", func(r isoReply) bool { return r.typ == '*' && len(r.elems) == 2 })}},
		{"while subscribed", [][]string{{"SUBSCRIBE", "news"}, {"RESET"}, {"GET", "shared"}},
			[]isoMatch{isoFunc("subscribe confirmation", func(r isoReply) bool { return slices.Equal(r.strs(), []string{"subscribe", "news", "1"}) }),
				isoStatus("RESET"), isoBulk(isoAliceValue)}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e.reseedAlice(t)
			a := e.dial(t, "alice")
			a.write(tc.cmds...)
			for i, m := range tc.want {
				m.check(t, strings.Join(tc.cmds[i], " "), a.read())
			}
			isoBulk(isoAliceValue).check(t, "GET shared at the end", a.do("GET", "shared"))
			isoStatus("PONG").check(t, "PING", a.do("PING"))
			if n := len(e.snapshot(t, 0)); n != len(e.base0) {
				t.Errorf("DB 0 has %d keys, want %d: a write after RESET landed there", n, len(e.base0))
			}
			e.verifyUntouched(t)
		})
	}
}

// TestIsolationAuthAgain: AUTH with carol's credential on alice's session
// is refused (the documented choice), in every form, with the same
// WRONGPASS as a wrong secret (a guess learns nothing), and the session
// stays alice's in DB 3 with its protocol unchanged.
func TestIsolationAuthAgain(t *testing.T) {
	e := startIsoEnv(t)
	refused := isoError("WRONGPASS invalid username-password pair or user is disabled.")
	for _, tc := range []struct {
		desc string
		args []string
		want isoMatch
	}{
		{"AUTH carol secret", []string{"AUTH", "carol", isoSecrets["carol"]}, refused},
		{"AUTH secret only", []string{"AUTH", isoSecrets["carol"]}, refused},
		{"AUTH default secret", []string{"AUTH", "default", isoSecrets["carol"]}, refused},
		{"HELLO 3 AUTH carol", []string{"HELLO", "3", "AUTH", "carol", isoSecrets["carol"]}, refused},
		{"HELLO 2 AUTH carol SETNAME", []string{"HELLO", "2", "AUTH", "carol", isoSecrets["carol"], "SETNAME", "x"}, refused},
		{"AUTH carol wrong secret", []string{"AUTH", "carol", "wrong"}, isoError("WRONGPASS")},
		{"AUTH the upstream password", []string{"AUTH", isoRedisPass}, isoError("WRONGPASS")},
		{"AUTH alice again", []string{"AUTH", "alice", isoSecrets["alice"]}, isoStatus("OK")},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			a := e.dial(t, "alice")
			a.write([]string{"GET", "shared"}, tc.args, []string{"GET", "shared"}, []string{"HGETALL", "ah"})
			isoBulk(isoAliceValue).check(t, "GET before", a.read())
			tc.want.check(t, tc.desc, a.read())
			isoBulk(isoAliceValue).check(t, "GET after", a.read())
			if r := a.read(); r.typ != '*' {
				t.Errorf("HGETALL after: got %s, want a RESP2 array (protocol unchanged)", r)
			}
			// The gateway still counts the session as alice's.
			isoFunc("alice's connections", func(r isoReply) bool {
				return r.str != "" && e.ownedBy(t, r.str, "alice")
			}).check(t, "CLIENT LIST", a.do("CLIENT", "LIST"))
			e.verifyUntouched(t)
		})
	}
	t.Run("inside MULTI", func(t *testing.T) {
		a := e.dial(t, "alice")
		a.write([]string{"MULTI"}, []string{"AUTH", "carol", isoSecrets["carol"]}, []string{"GET", "shared"}, []string{"EXEC"})
		isoStatus("OK").check(t, "MULTI", a.read())
		if r := a.read(); !r.isErr() {
			t.Errorf("AUTH carol inside MULTI: got %s, want an error", r)
		}
		isoStatus("QUEUED").check(t, "GET", a.read())
		if r := a.read(); !(r.isErr() && strings.HasPrefix(r.str, "EXECABORT")) && !(len(r.elems) == 1 && r.elems[0].str == isoAliceValue) {
			t.Errorf("EXEC: got %s, want EXECABORT or alice's value", r)
		}
		isoBulk(isoAliceValue).check(t, "GET after", a.do("GET", "shared"))
		e.verifyUntouched(t)
	})
	t.Run("go-redis RESP3 client", func(t *testing.T) {
		ctx := context.Background()
		c := e.dialGoRedis(t, "alice", 3)
		conn := c.Conn()
		defer conn.Close()
		if err := conn.AuthACL(ctx, "carol", isoSecrets["carol"]).Err(); err == nil {
			t.Error("AUTH carol on alice's go-redis connection succeeded")
		}
		if v, err := conn.Get(ctx, "shared").Result(); err != nil || v != isoAliceValue {
			t.Errorf("GET shared after AUTH carol: %q, %v", v, err)
		}
	})
}

// TestIsolationInfoRESP3: INFO through go-redis (RESP3, verbatim strings)
// shows only DB 3 in the keyspace section.
func TestIsolationInfoRESP3(t *testing.T) {
	e := startIsoEnv(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		c := e.dialGoRedis(t, "alice", proto)
		for _, sections := range [][]string{{"keyspace"}, {}, {"everything"}, {"server", "keyspace"}} {
			info, err := c.Info(ctx, sections...).Result()
			mustOK(t, err)
			if !strings.Contains(info, "db3:keys=6,") || strings.Contains(info, "db0:") || strings.Contains(info, "db4:") {
				t.Errorf("RESP%d INFO %v keyspace not filtered to db3:\n%s", proto, sections, info[strings.Index(info, "# Keyspace"):])
			}
		}
	}
}

// TestIsolationReplyOrder: replies the gateway makes itself (refusals, the
// FLUSHALL rewrite, a pinned SELECT) take their place in a pipeline.
func TestIsolationReplyOrder(t *testing.T) {
	e := startIsoEnv(t)
	noperm := isoNoPerm
	for _, tc := range []struct {
		desc string
		cmds [][]string
		want []isoMatch
	}{
		{"GET FLUSHALL GET", [][]string{{"GET", "a"}, {"FLUSHALL"}, {"GET", "b"}},
			[]isoMatch{isoBulk("va"), isoStatus("OK"), isoNil()}},
		{"GET CONFIG GET", [][]string{{"GET", "a"}, {"CONFIG", "GET", "x"}, {"GET", "b"}},
			[]isoMatch{isoBulk("va"), noperm("config|get"), isoBulk("vb")}},
		{"refusals first", [][]string{{"SELECT", "4"}, {"EVAL", "return 1", "0"}, {"GET", "a"}},
			[]isoMatch{noperm("select"), noperm("eval"), isoBulk("va")}},
		{"refusals last", [][]string{{"GET", "a"}, {"SELECT", "0"}, {"SWAPDB", "3", "4"}},
			[]isoMatch{isoBulk("va"), noperm("select"), noperm("swapdb")}},
		{"unknown command in between", [][]string{{"GET", "a"}, {"NOSUCHCMD", "x"}, {"GET", "b"}},
			[]isoMatch{isoBulk("va"), isoError("ERR unknown command 'NOSUCHCMD'"), isoBulk("vb")}},
		{"pinned SELECT and INFO in between", [][]string{{"SELECT", "3"}, {"INFO", "keyspace"}, {"SELECT", "4"}, {"GET", "a"}},
			[]isoMatch{isoStatus("OK"), isoInfo(true), noperm("select"), isoBulk("va")}},
		// Redis: a command refused at queue time makes EXEC fail with
		// EXECABORT, and nothing in the transaction runs.
		{"refused inside MULTI", [][]string{{"MULTI"}, {"SET", "x", "1"}, {"CONFIG", "GET", "x"}, {"SET", "y", "2"}, {"EXEC"}, {"EXISTS", "x", "y"}},
			[]isoMatch{isoStatus("OK"), isoStatus("QUEUED"), noperm("config|get"), isoStatus("QUEUED"), isoError("EXECABORT"), isoInt(0)}},
		{"SELECT 4 inside MULTI", [][]string{{"MULTI"}, {"SET", "x", "1"}, {"SELECT", "4"}, {"SET", "shared", "evil"}, {"EXEC"}, {"GET", "shared"}},
			[]isoMatch{isoStatus("OK"), isoStatus("QUEUED"), noperm("select"), isoStatus("QUEUED"), isoError("EXECABORT"), isoBulk(isoAliceValue)}},
		{"after EXECABORT a new MULTI works", [][]string{{"MULTI"}, {"MOVE", "a", "4"}, {"EXEC"}, {"MULTI"}, {"INCR", "n"}, {"EXEC"}},
			[]isoMatch{isoStatus("OK"), noperm("move"), isoError("EXECABORT"), isoStatus("OK"), isoStatus("QUEUED"),
				isoFunc("[1]", func(r isoReply) bool { return len(r.elems) == 1 && r.elems[0].str == "1" })}},
		{"DISCARD clears the refusal", [][]string{{"MULTI"}, {"MOVE", "a", "4"}, {"DISCARD"}, {"MULTI"}, {"INCR", "n"}, {"EXEC"}},
			[]isoMatch{isoStatus("OK"), noperm("move"), isoStatus("OK"), isoStatus("OK"), isoStatus("QUEUED"),
				isoFunc("[1]", func(r isoReply) bool { return len(r.elems) == 1 && r.elems[0].str == "1" })}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e.reseedAlice(t)
			a := e.dial(t, "alice")
			a.write(tc.cmds...)
			for i, m := range tc.want {
				m.check(t, strings.Join(tc.cmds[i], " "), a.read())
			}
			e.verifyUntouched(t)
		})
	}
	t.Run("pipelined behind AUTH", func(t *testing.T) {
		e.reseedAlice(t)
		for _, login := range [][]string{{"AUTH", "alice", isoSecrets["alice"]}, {"HELLO", "3", "AUTH", "alice", isoSecrets["alice"]}} {
			a := isoDialRaw(t, e.addr)
			a.forbid = isoLeakMarkers
			a.write(login, []string{"SELECT", "4"}, []string{"GET", "shared"}, []string{"SWAPDB", "3", "4"},
				[]string{"FLUSHALL"}, []string{"GET", "shared"})
			if r := a.read(); r.typ != '+' && r.typ != '%' {
				t.Fatalf("%s: %s", login[0], r)
			}
			for i, m := range []isoMatch{noperm("select"), isoBulk(isoAliceValue), noperm("swapdb"), isoStatus("OK"), isoNil()} {
				m.check(t, login[0]+": reply "+strconv.Itoa(i), a.read())
			}
			e.verifyUntouched(t)
			e.reseedAlice(t)
		}
	})
	t.Run("long mixed pipeline", func(t *testing.T) {
		e.reseedAlice(t)
		a := e.dial(t, "alice")
		var cmds [][]string
		var want []isoMatch
		for i := range 200 {
			cmds = append(cmds, []string{"INCR", "ctr"}, []string{"SELECT", "4"}, []string{"GET", "a"},
				[]string{"CONFIG", "GET", "maxmemory"}, []string{"ECHO", strconv.Itoa(i)}, []string{"SELECT", "3"})
			want = append(want, isoInt(int64(i+1)), noperm("select"), isoBulk("va"),
				noperm("config|get"), isoBulk(strconv.Itoa(i)), isoStatus("OK"))
		}
		a.write(cmds...)
		for i, m := range want {
			if r := a.read(); !m.ok(r) {
				t.Fatalf("reply %d (%s): got %s, want %s", i, strings.Join(cmds[i], " "), r, m.desc)
			}
		}
		e.verifyUntouched(t)
	})
	t.Run("inline commands", func(t *testing.T) {
		e.reseedAlice(t)
		a := e.dial(t, "alice")
		a.writeRaw("GET a\r\nSELECT 4\r\nSELECT \"\\x34\"\r\nSELECT '4'\r\nSELECT 3\r\nGET shared\r\n")
		for i, m := range []isoMatch{isoBulk("va"), noperm("select"), noperm("select"), noperm("select"), isoStatus("OK"), isoBulk(isoAliceValue)} {
			m.check(t, "inline reply "+strconv.Itoa(i), a.read())
		}
		e.verifyUntouched(t)
	})
}

// TestIsolationHelloInsideMulti: redis-server would queue HELLO (or AUTH)
// inside MULTI and switch protocol only at EXEC, out of the relay's sight,
// so redoubt refuses them there. Like any command rejected at queue time
// that dooms the transaction, and the session keeps framing its protocol.
func TestIsolationHelloInsideMulti(t *testing.T) {
	e := startIsoEnv(t)
	for _, tc := range []struct {
		desc string
		cmd  []string
	}{
		{"HELLO 3 inside MULTI", []string{"HELLO", "3"}},
		{"HELLO 2 inside MULTI", []string{"HELLO", "2"}},
		{"AUTH inside MULTI", []string{"AUTH", "alice", "wrong"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			a := e.dial(t, "alice")
			a.write([]string{"MULTI"}, tc.cmd, []string{"SET", "m", "x"}, []string{"EXEC"},
				[]string{"RPUSH", "l", "message", "news", "hi"}, []string{"LRANGE", "l", "0", "-1"}, []string{"GET", "shared"})
			isoStatus("OK").check(t, "MULTI", a.read())
			isoError("ERR redoubt:").check(t, tc.cmd[0], a.read())
			isoStatus("QUEUED").check(t, "SET", a.read())
			isoError("EXECABORT").check(t, "EXEC", a.read())
			a.read() // RPUSH's count
			a.expectRaw("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n")
			isoBulk(isoAliceValue).check(t, "GET", a.read())
			a.write([]string{"DEL", "l"}, []string{"EXISTS", "m"})
			isoInt(1).check(t, "DEL", a.read())
			isoInt(0).check(t, "EXISTS m (the doomed transaction ran)", a.read())
		})
	}
}

// TestIsolationRoles: roles refuse with NOPERM before isolation is even
// asked, for a readwrite, a readonly and a readonly+"+set" tenant, and
// their writes land in their own DBs only.
func TestIsolationRoles(t *testing.T) {
	e := startIsoEnv(t)
	ctx := context.Background()
	mustOK(t, e.direct(t, isoDBReadO).Set(ctx, "ro", "rosa-value", 0).Err())
	for _, tc := range []struct {
		desc, tenant string
		args         []string
		want         isoMatch
	}{
		{"readwrite-strict SET", "rita", []string{"SET", "k", "rita"}, isoStatus("OK")},
		{"readwrite-strict GET", "rita", []string{"GET", "k"}, isoBulk("rita")},
		{"readwrite-strict SELECT own", "rita", []string{"SELECT", "6"}, isoStatus("OK")},
		{"readwrite-strict SELECT other", "rita", []string{"SELECT", "4"}, isoNoPerm("select")},
		{"readwrite-strict FLUSHALL", "rita", []string{"FLUSHALL"}, isoNoPerm("flushall")},
		{"readwrite-strict FLUSHDB", "rita", []string{"FLUSHDB"}, isoNoPerm("flushdb")},
		{"readwrite-strict KEYS", "rita", []string{"KEYS", "*"}, isoNoPerm("keys")},
		{"readwrite-strict CONFIG GET", "rita", []string{"CONFIG", "GET", "maxmemory"}, isoNoPerm("config|get")},
		{"readwrite-strict EVAL", "rita", []string{"EVAL", "return 1", "0"}, isoNoPerm("eval")},
		{"readwrite-strict MOVE", "rita", []string{"MOVE", "k", "4"}, isoNoPerm("move")},
		{"readwrite-strict INFO", "rita", []string{"INFO"}, isoNoPerm("info")},
		{"readwrite-strict PUBLISH", "rita", []string{"PUBLISH", "news", "x"}, isoInt(0)},
		{"readonly GET", "rosa", []string{"GET", "ro"}, isoBulk("rosa-value")},
		{"readonly SET", "rosa", []string{"SET", "ro", "x"}, isoNoPerm("set")},
		{"readonly DEL", "rosa", []string{"DEL", "ro"}, isoNoPerm("del")},
		{"readonly FLUSHDB", "rosa", []string{"FLUSHDB"}, isoNoPerm("flushdb")},
		{"readonly KEYS", "rosa", []string{"KEYS", "*"}, isoNoPerm("keys")},
		{"readonly PUBLISH", "rosa", []string{"PUBLISH", "news", "x"}, isoNoPerm("publish")},
		{"readonly SELECT other", "rosa", []string{"SELECT", "4"}, isoNoPerm("select")},
		{"custom SET", "cora", []string{"SET", "c", "cora"}, isoStatus("OK")},
		{"custom GET", "cora", []string{"GET", "c"}, isoBulk("cora")},
		{"custom DEL", "cora", []string{"DEL", "c"}, isoNoPerm("del")},
		{"custom INCR", "cora", []string{"INCR", "n"}, isoNoPerm("incr")},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := e.dial(t, tc.tenant)
			c.write([]string{"PING"}, tc.args, []string{"PING"})
			isoStatus("PONG").check(t, "PING", c.read())
			tc.want.check(t, strings.Join(tc.args, " "), c.read())
			isoStatus("PONG").check(t, "PING", c.read())
		})
	}
	t.Run("readonly MULTI with a write", func(t *testing.T) {
		c := e.dial(t, "rosa")
		c.write([]string{"MULTI"}, []string{"GET", "ro"}, []string{"SET", "ro", "x"}, []string{"EXEC"})
		for i, m := range []isoMatch{isoStatus("OK"), isoStatus("QUEUED"), isoNoPerm("set"), isoError("EXECABORT")} {
			m.check(t, "reply "+strconv.Itoa(i), c.read())
		}
	})
	// The writes that were allowed landed in each tenant's own DB.
	for db, want := range map[int]map[string]string{isoDBReadW: {"k": "rita"}, isoDBReadO: {"ro": "rosa-value"}, isoDBCustom: {"c": "cora"}} {
		c := e.direct(t, db)
		keys, err := c.Keys(ctx, "*").Result()
		mustOK(t, err)
		if len(keys) != len(want) {
			t.Errorf("DB %d holds %q, want %v", db, keys, want)
		}
		for k, v := range want {
			if got := c.Get(ctx, k).Val(); got != v {
				t.Errorf("DB %d: %s = %q, want %q", db, k, got, v)
			}
		}
	}
	e.verifyUntouched(t)
}

// isoGoRedisMsg receives the next published message on a go-redis PubSub.
func isoGoRedisMsg(t *testing.T, ps *redis.PubSub) *redis.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

// TestIsolationPubSub: alice and carol use the same channel names; each
// hears only her own tenant's messages, under the names she used.
func TestIsolationPubSub(t *testing.T) {
	e := startIsoEnv(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		for _, kind := range []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"} {
			t.Run("go-redis RESP"+strconv.Itoa(proto)+" "+kind, func(t *testing.T) {
				ac, cc := e.dialGoRedis(t, "alice", proto), e.dialGoRedis(t, "carol", proto)
				var aps, cps *redis.PubSub
				publish := func(c *redis.Client, msg string) int64 {
					if kind == "SSUBSCRIBE" {
						return c.SPublish(ctx, "news", msg).Val()
					}
					return c.Publish(ctx, "news", msg).Val()
				}
				switch kind {
				case "SUBSCRIBE":
					aps, cps = ac.Subscribe(ctx, "news"), cc.Subscribe(ctx, "news")
				case "PSUBSCRIBE":
					// alice's "*" must not match carol's channels.
					aps, cps = ac.PSubscribe(ctx, "*"), cc.PSubscribe(ctx, "n*")
				case "SSUBSCRIBE":
					aps, cps = ac.SSubscribe(ctx, "news"), cc.SSubscribe(ctx, "news")
				}
				defer aps.Close()
				defer cps.Close()
				for _, ps := range []*redis.PubSub{aps, cps} {
					m, err := ps.Receive(ctx)
					mustOK(t, err)
					if s, ok := m.(*redis.Subscription); !ok || s.Channel == "" || strings.Contains(s.Channel, ":") {
						t.Fatalf("subscription confirmation: %#v", m)
					}
				}
				if n := publish(cc, "from-carol"); n != 1 {
					t.Errorf("carol's publish reached %d subscribers, want carol's 1", n)
				}
				if n := publish(ac, "from-alice"); n != 1 {
					t.Errorf("alice's publish reached %d subscribers, want alice's 1", n)
				}
				// Messages arrive in publish order: alice's first message
				// being her own shows carol's earlier one never reached her.
				m := isoGoRedisMsg(t, aps)
				wantPattern := map[string]string{"PSUBSCRIBE": "*"}[kind]
				if m.Channel != "news" || m.Payload != "from-alice" || m.Pattern != wantPattern {
					t.Errorf("alice received %+v, want from-alice on news (pattern %q)", m, wantPattern)
				}
				if m := isoGoRedisMsg(t, cps); m.Payload != "from-carol" || m.Channel != "news" {
					t.Errorf("carol received %+v, want from-carol", m)
				}
				publish(cc, "carol-2")
				if m := isoGoRedisMsg(t, cps); m.Payload != "carol-2" {
					t.Errorf("carol received %+v, want carol-2 (alice's message must not reach her)", m)
				}
			})
		}
	}

	t.Run("raw RESP2", func(t *testing.T) {
		a, pub := e.dial(t, "alice"), e.dial(t, "alice")
		c, cpub := e.dial(t, "carol"), e.dial(t, "carol")
		a.write([]string{"SUBSCRIBE", "news"}, []string{"PSUBSCRIBE", "*"}, []string{"SSUBSCRIBE", "snews"})
		a.expectRaw("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
		a.expectRaw("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:2\r\n")
		a.expectRaw("*3\r\n$10\r\nssubscribe\r\n$5\r\nsnews\r\n:1\r\n")
		c.write([]string{"SUBSCRIBE", "news"}, []string{"PSUBSCRIBE", "*"}, []string{"SSUBSCRIBE", "snews"})
		for range 3 {
			c.read()
		}
		isoInt(2).check(t, "carol PUBLISH news", cpub.do("PUBLISH", "news", "from-carol"))
		isoInt(1).check(t, "carol SPUBLISH snews", cpub.do("SPUBLISH", "snews", "from-carol"))
		isoInt(2).check(t, "alice PUBLISH news", pub.do("PUBLISH", "news", "from-alice"))
		isoInt(1).check(t, "alice PUBLISH other", pub.do("PUBLISH", "other", "alice-other"))
		isoInt(1).check(t, "alice SPUBLISH snews", pub.do("SPUBLISH", "snews", "from-alice"))
		a.expectRaw("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\nfrom-alice\r\n")
		a.expectRaw("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$4\r\nnews\r\n$10\r\nfrom-alice\r\n")
		a.expectRaw("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$5\r\nother\r\n$11\r\nalice-other\r\n")
		a.expectRaw("*3\r\n$8\r\nsmessage\r\n$5\r\nsnews\r\n$10\r\nfrom-alice\r\n")
		// Subscribed-mode PING, then unsubscribing everything with no
		// arguments: the confirmations name what alice subscribed to.
		// A refusal in subscribed mode keeps its place between PINGs.
		a.write([]string{"PING"}, []string{"CONFIG", "GET", "x"}, []string{"PING", "p"},
			[]string{"UNSUBSCRIBE"}, []string{"PUNSUBSCRIBE"}, []string{"SUNSUBSCRIBE"}, []string{"GET", "shared"})
		a.expectRaw("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
		isoNoPerm("config|get").check(t, "CONFIG GET while subscribed", a.read())
		a.expectRaw("*2\r\n$4\r\npong\r\n$1\r\np\r\n")
		a.expectRaw("*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n")
		a.expectRaw("*3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:0\r\n")
		a.expectRaw("*3\r\n$12\r\nsunsubscribe\r\n$5\r\nsnews\r\n:0\r\n")
		a.expectRaw("$12\r\n" + isoAliceValue + "\r\n")
		// carol got her own messages, and alice's never.
		c.expectRaw("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\nfrom-carol\r\n")
		c.expectRaw("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$4\r\nnews\r\n$10\r\nfrom-carol\r\n")
		c.expectRaw("*3\r\n$8\r\nsmessage\r\n$5\r\nsnews\r\n$10\r\nfrom-carol\r\n")
		isoInt(2).check(t, "carol PUBLISH last", cpub.do("PUBLISH", "news", "carol-last"))
		c.expectRaw("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\ncarol-last\r\n")
		e.verifyUntouched(t)
	})

	t.Run("raw RESP3", func(t *testing.T) {
		a, pub := e.dial(t, "alice"), e.dial(t, "alice")
		c, cpub := e.dial(t, "carol"), e.dial(t, "carol")
		for _, x := range []*isoConn{a, c} {
			if r := x.do("HELLO", "3"); r.typ != '%' {
				t.Fatalf("HELLO 3: %s", r)
			}
		}
		a.write([]string{"SUBSCRIBE", "news"}, []string{"PSUBSCRIBE", "*"}, []string{"GET", "shared"})
		a.expectRaw(">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
		a.expectRaw(">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:2\r\n")
		a.expectRaw("$12\r\n" + isoAliceValue + "\r\n")
		c.write([]string{"SUBSCRIBE", "news"})
		c.read()
		isoInt(1).check(t, "carol PUBLISH", cpub.do("PUBLISH", "news", "from-carol"))
		isoInt(2).check(t, "alice PUBLISH", pub.do("PUBLISH", "news", "from-alice"))
		a.expectRaw(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\nfrom-alice\r\n")
		a.expectRaw(">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$4\r\nnews\r\n$10\r\nfrom-alice\r\n")
		// Ordinary commands still work between pushes in RESP3.
		a.write([]string{"GET", "shared"}, []string{"UNSUBSCRIBE", "news"}, []string{"GET", "a"})
		a.expectRaw("$12\r\n" + isoAliceValue + "\r\n")
		a.expectRaw(">3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n")
		a.expectRaw("$2\r\nva\r\n")
		c.expectRaw(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$10\r\nfrom-carol\r\n")
	})

	t.Run("PUBSUB introspection", func(t *testing.T) {
		a, c := e.dial(t, "alice"), e.dial(t, "carol")
		for _, x := range []*isoConn{a, c} {
			if r := x.do("HELLO", "3"); r.typ != '%' {
				t.Fatalf("HELLO 3: %s", r)
			}
		}
		a.write([]string{"SUBSCRIBE", "news", "a-only"}, []string{"PSUBSCRIBE", "a*"}, []string{"SSUBSCRIBE", "snews"})
		c.write([]string{"SUBSCRIBE", "news", "c-private"}, []string{"PSUBSCRIBE", "c*", "x*"}, []string{"SSUBSCRIBE", "snews", "c-shard"})
		for range 4 {
			a.read()
		}
		for range 6 {
			c.read()
		}
		other := e.dial(t, "alice") // RESP2, not subscribed
		for _, tc := range []struct {
			desc string
			args []string
			want isoMatch
		}{
			{"CHANNELS", []string{"PUBSUB", "CHANNELS"}, isoStrSet("news", "a-only")},
			{"CHANNELS *", []string{"PUBSUB", "CHANNELS", "*"}, isoStrSet("news", "a-only")},
			{"CHANNELS c*", []string{"PUBSUB", "CHANNELS", "c*"}, isoStrSet()},
			{"CHANNELS t:*", []string{"PUBSUB", "CHANNELS", "t:*"}, isoStrSet()},
			{"NUMSUB", []string{"PUBSUB", "NUMSUB", "news", "c-private", "a-only"},
				isoFunc("news 1 c-private 0 a-only 1", func(r isoReply) bool {
					return slices.Equal(r.strs(), []string{"news", "1", "c-private", "0", "a-only", "1"})
				})},
			{"SHARDCHANNELS", []string{"PUBSUB", "SHARDCHANNELS"}, isoStrSet("snews")},
			{"SHARDCHANNELS c*", []string{"PUBSUB", "SHARDCHANNELS", "c*"}, isoStrSet()},
			{"SHARDNUMSUB", []string{"PUBSUB", "SHARDNUMSUB", "snews", "c-shard"},
				isoFunc("snews 1 c-shard 0", func(r isoReply) bool {
					return slices.Equal(r.strs(), []string{"snews", "1", "c-shard", "0"})
				})},
		} {
			tc.want.check(t, "subscribed RESP3 session: "+tc.desc, a.do(tc.args...))
			tc.want.check(t, "other session: "+tc.desc, other.do(tc.args...))
		}
		// NUMPAT counts only alice's patterns (the gateway answers from the
		// session's own, a documented choice); carol has two.
		isoInt(1).check(t, "NUMPAT on the subscribed session", a.do("PUBSUB", "NUMPAT"))
		if r := other.do("PUBSUB", "NUMPAT"); r.typ != ':' || (r.str != "0" && r.str != "1") {
			t.Errorf("NUMPAT on another alice session: %s, want alice's count at most", r)
		}
		// Carol sees hers, so the figures above are alice's, not a blank.
		isoStrSet("news", "c-private").check(t, "carol's CHANNELS", c.do("PUBSUB", "CHANNELS"))
		isoInt(2).check(t, "carol's NUMPAT", c.do("PUBSUB", "NUMPAT"))
	})

	t.Run("inside MULTI", func(t *testing.T) {
		c := e.dial(t, "carol")
		c.do("SUBSCRIBE", "news")
		a := e.dial(t, "alice")
		a.write([]string{"MULTI"}, []string{"PUBLISH", "news", "x"}, []string{"EXEC"},
			[]string{"MULTI"}, []string{"SUBSCRIBE", "news"}, []string{"EXEC"},
			[]string{"MULTI"}, []string{"PUBSUB", "CHANNELS"}, []string{"EXEC"})
		isoStatus("OK").check(t, "MULTI", a.read())
		isoStatus("QUEUED").check(t, "PUBLISH", a.read())
		isoFunc("[0]: carol's subscriber is not alice's", func(r isoReply) bool {
			return len(r.elems) == 1 && r.elems[0].str == "0"
		}).check(t, "EXEC", a.read())
		for _, what := range []string{"SUBSCRIBE", "PUBSUB CHANNELS"} {
			isoStatus("OK").check(t, "MULTI", a.read())
			if r := a.read(); !r.isErr() {
				t.Errorf("%s inside MULTI: got %s, want refused", what, r)
			}
			isoError("EXECABORT").check(t, "EXEC", a.read())
		}
	})
}

// TestIsolationKeyspaceNotifications: with notifications on, alice cannot
// hear DB 4's (or DB 0's) keyspace channels, whatever she subscribes to,
// but hears her own DB's (the documented exception).
func TestIsolationKeyspaceNotifications(t *testing.T) {
	e := startIsoEnv(t)
	ctx := context.Background()
	mustOK(t, e.direct(t, 0).ConfigSet(ctx, "notify-keyspace-events", "KEA").Err())
	e.baseServer = e.serverState(t)
	carolWrites := func(t *testing.T) {
		// Same values as seeded: the events fire, the snapshots stay equal.
		isoStatus("OK").check(t, "carol SET", e.carol.with(t).do("SET", "shared", isoCarolValue))
		mustOK(t, e.direct(t, 0).Set(ctx, "shared", isoZeroValue, 0).Err())
	}

	t.Run("raw RESP2", func(t *testing.T) {
		a := e.dial(t, "alice")
		a.write([]string{"PSUBSCRIBE", "__keyspace@4__:*", "__keyevent@4__:*", "__key*__:*", "*"},
			[]string{"SUBSCRIBE", "__keyevent@4__:set", "__keyspace@4__:shared", "__keyspace@0__:shared"},
			[]string{"PSUBSCRIBE", "__keyspace@3__:*"})
		for i, ch := range []string{"__keyspace@4__:*", "__keyevent@4__:*", "__key*__:*", "*"} {
			a.expectRaw(isoCmdArray("psubscribe", ch) + ":" + strconv.Itoa(i+1) + "\r\n")
		}
		for i, ch := range []string{"__keyevent@4__:set", "__keyspace@4__:shared", "__keyspace@0__:shared"} {
			a.expectRaw(isoCmdArray("subscribe", ch) + ":" + strconv.Itoa(i+5) + "\r\n")
		}
		a.expectRaw(isoCmdArray("psubscribe", "__keyspace@3__:*") + ":8\r\n")
		carolWrites(t)
		isoStatus("OK").check(t, "alice SET", e.dial(t, "alice").do("SET", "a", "va2"))
		// The first event alice gets is her own write's: nothing of carol's
		// earlier write, nor DB 0's, came before it.
		a.expectRaw("*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@3__:*\r\n$16\r\n__keyspace@3__:a\r\n$3\r\nset\r\n")
		e.verifyUntouched(t)
	})

	t.Run("go-redis RESP3", func(t *testing.T) {
		ps := e.dialGoRedis(t, "alice", 3).PSubscribe(ctx, "__keyspace@4__:*", "__keyevent@4__:*", "__keyevent@3__:*")
		defer ps.Close()
		for range 3 {
			_, err := ps.Receive(ctx)
			mustOK(t, err)
		}
		carolWrites(t)
		mustOK(t, e.dialGoRedis(t, "alice", 3).Set(ctx, "b", "vb2", 0).Err())
		if m := isoGoRedisMsg(t, ps); m.Channel != "__keyevent@3__:set" || m.Payload != "b" || m.Pattern != "__keyevent@3__:*" {
			t.Errorf("first event: %+v, want alice's own set of b", m)
		}
		e.verifyUntouched(t)
	})
}

// isoCmdArray is the RESP2 head of a subscription confirmation.
func isoCmdArray(kind, ch string) string {
	return "*3\r\n$" + strconv.Itoa(len(kind)) + "\r\n" + kind + "\r\n$" + strconv.Itoa(len(ch)) + "\r\n" + ch + "\r\n"
}
