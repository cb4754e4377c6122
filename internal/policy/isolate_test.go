package policy

import (
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// TestIsolate tries each escape from a pinned DB alone (pinned to 3).
func TestIsolate(t *testing.T) {
	tests := []struct {
		desc, args string
		want       Action
		msg        string // substring of the deny message
	}{
		{desc: "plain read", args: "GET k", want: Allow},
		{desc: "plain write", args: "SET k v", want: Allow},
		{desc: "select pinned", args: "SELECT 3", want: SelectPinned},
		{desc: "select other", args: "SELECT 4", want: Deny, msg: "pinned to DB 3"},
		{desc: "select 0", args: "select 0", want: Deny, msg: "pinned to DB 3"},
		{desc: "select leading zero", args: "SELECT 03", want: Deny},
		{desc: "select plus sign", args: "SELECT +3", want: Deny},
		{desc: "select negative", args: "SELECT -1", want: Deny},
		{desc: "select huge", args: "SELECT 99999999999999999999", want: Deny},
		{desc: "select no arg", args: "SELECT", want: Deny, msg: "wrong number of arguments"},
		{desc: "select two args", args: "SELECT 3 4", want: Deny, msg: "wrong number of arguments"},
		{desc: "flushall", args: "FLUSHALL", want: RewriteFlushAll},
		{desc: "flushall async", args: "flushall ASYNC", want: RewriteFlushAll},
		{desc: "flushdb is own db", args: "FLUSHDB", want: Allow},
		{desc: "swapdb", args: "SWAPDB 3 4", want: Deny, msg: "another DB"},
		{desc: "move", args: "MOVE k 4", want: Deny, msg: "another DB"},
		{desc: "copy same db", args: "COPY a b", want: Allow},
		{desc: "copy replace", args: "COPY a b REPLACE", want: Allow},
		{desc: "copy db other", args: "COPY a b DB 4", want: Deny, msg: "pinned DB 3"},
		{desc: "copy db lowercase", args: "copy a b db 0 replace", want: Deny},
		{desc: "copy db pinned", args: "COPY a b DB 3", want: Allow},
		{desc: "copy last db wins", args: "COPY a b DB 3 DB 4", want: Deny},
		{desc: "copy db not a number", args: "COPY a b DB x", want: Deny},
		{desc: "copy key named db", args: "COPY db db", want: Allow},
		{desc: "migrate", args: "MIGRATE h 6379 k 0 100", want: Deny, msg: "another DB"},
		{desc: "reset", args: "RESET", want: ResetLocal},
		{desc: "eval", args: "EVAL return 0", want: Deny, msg: "tenant_users: managed or provided"},
		{desc: "evalsha", args: "EVALSHA abc 0", want: Deny, msg: "Lua can SELECT"},
		{desc: "eval_ro", args: "EVAL_RO s 0", want: Deny, msg: "Lua can SELECT"},
		{desc: "evalsha_ro", args: "EVALSHA_RO s 0", want: Deny, msg: "Lua can SELECT"},
		{desc: "fcall", args: "FCALL f 0", want: Deny, msg: "Lua can SELECT"},
		{desc: "fcall_ro", args: "FCALL_RO f 0", want: Deny, msg: "Lua can SELECT"},
		{desc: "function load", args: "FUNCTION LOAD code", want: Deny, msg: "function libraries are shared"},
		{desc: "function flush", args: "FUNCTION FLUSH", want: Deny},
		{desc: "script load", args: "SCRIPT LOAD s", want: Deny, msg: "Lua can SELECT"},
		{desc: "script kill", args: "SCRIPT KILL", want: Deny},
		{desc: "subscribe", args: "SUBSCRIBE c", want: PrefixPubSub},
		{desc: "psubscribe keyspace", args: "PSUBSCRIBE __keyspace@4__:*", want: PrefixPubSub},
		{desc: "ssubscribe", args: "SSUBSCRIBE c", want: PrefixPubSub},
		{desc: "unsubscribe", args: "UNSUBSCRIBE", want: PrefixPubSub},
		{desc: "punsubscribe", args: "PUNSUBSCRIBE", want: PrefixPubSub},
		{desc: "sunsubscribe", args: "SUNSUBSCRIBE", want: PrefixPubSub},
		{desc: "publish", args: "PUBLISH c m", want: PrefixPubSub},
		{desc: "spublish", args: "SPUBLISH c m", want: PrefixPubSub},
		{desc: "pubsub channels", args: "PUBSUB CHANNELS", want: PrefixPubSub},
		{desc: "pubsub numsub", args: "PUBSUB NUMSUB c", want: PrefixPubSub},
		{desc: "pubsub numpat", args: "PUBSUB NUMPAT", want: PrefixPubSub},
		{desc: "pubsub shardchannels", args: "PUBSUB SHARDCHANNELS", want: PrefixPubSub},
		{desc: "pubsub shardnumsub", args: "PUBSUB SHARDNUMSUB c", want: PrefixPubSub},
		{desc: "client list", args: "CLIENT LIST", want: FilterClientList},
		{desc: "client kill", args: "CLIENT KILL ID 7", want: Deny, msg: "other tenants' connections"},
		{desc: "client pause", args: "CLIENT PAUSE 1000", want: Deny},
		{desc: "client unpause", args: "CLIENT UNPAUSE", want: Deny},
		{desc: "client no-evict", args: "CLIENT NO-EVICT on", want: Deny},
		{desc: "client unblock", args: "CLIENT UNBLOCK 7", want: Deny},
		{desc: "client tracking redirect", args: "CLIENT TRACKING on REDIRECT 7", want: Deny, msg: "tracking"},
		{desc: "client tracking bcast", args: "CLIENT TRACKING on BCAST PREFIX a", want: Deny},
		{desc: "client tracking plain", args: "CLIENT TRACKING on", want: Deny},
		{desc: "client tracking off", args: "CLIENT TRACKING off", want: Allow},
		{desc: "client tracking bare", args: "CLIENT TRACKING", want: Deny},
		{desc: "client setname", args: "CLIENT SETNAME x", want: Allow},
		{desc: "client info is own", args: "CLIENT INFO", want: Allow},
		{desc: "monitor", args: "MONITOR", want: Deny, msg: "whole shared server"},
		{desc: "slowlog get", args: "SLOWLOG GET", want: Deny},
		{desc: "slowlog help", args: "SLOWLOG HELP", want: Deny},
		{desc: "latency", args: "LATENCY LATEST", want: Deny},
		{desc: "memory stats", args: "MEMORY STATS", want: Deny},
		{desc: "memory usage", args: "MEMORY USAGE k", want: Deny},
		{desc: "info", args: "INFO", want: FilterInfoKeyspace},
		{desc: "info keyspace", args: "INFO keyspace", want: FilterInfoKeyspace},
		{desc: "config get", args: "CONFIG GET *", want: Deny},
		{desc: "config set notify", args: "CONFIG SET notify-keyspace-events KEA", want: Deny},
		{desc: "debug", args: "DEBUG SLEEP 0", want: Deny},
		{desc: "shutdown", args: "SHUTDOWN NOSAVE", want: Deny},
		{desc: "save", args: "SAVE", want: Deny},
		{desc: "bgsave", args: "BGSAVE", want: Deny},
		{desc: "bgrewriteaof", args: "BGREWRITEAOF", want: Deny},
		{desc: "replicaof", args: "REPLICAOF h 1", want: Deny, msg: "replication"},
		{desc: "slaveof", args: "SLAVEOF h 1", want: Deny},
		{desc: "sync", args: "SYNC", want: Deny},
		{desc: "psync", args: "PSYNC ? -1", want: Deny},
		{desc: "replconf", args: "REPLCONF listening-port 1", want: Deny},
		{desc: "acl whoami", args: "ACL WHOAMI", want: Deny},
		{desc: "acl setuser", args: "ACL SETUSER x on", want: Deny},
		{desc: "module load", args: "MODULE LOAD x", want: Deny},
		{desc: "cluster info", args: "CLUSTER INFO", want: Deny},
		{desc: "failover", args: "FAILOVER", want: Deny},
		{desc: "admin not listed fails closed", args: "PFDEBUG GETREG k", want: Deny},
		{desc: "object per db", args: "OBJECT ENCODING k", want: Allow},
		{desc: "wait", args: "WAIT 1 0", want: Allow},
		{desc: "waitaof", args: "WAITAOF 0 0 0", want: Allow},
		{desc: "keys per db", args: "KEYS *", want: Allow},
		{desc: "scan per db", args: "SCAN 0", want: Allow},
		{desc: "dbsize", args: "DBSIZE", want: Allow},
		{desc: "randomkey", args: "RANDOMKEY", want: Allow},
		{desc: "sort by pattern stays in db", args: "SORT k BY w_* GET o_*", want: Allow},
		{desc: "xread", args: "XREAD STREAMS s 0", want: Allow},
		{desc: "lastsave is @admin, fails closed", args: "LASTSAVE", want: Deny},
		{desc: "role is @admin", args: "ROLE", want: Deny},
		{desc: "time", args: "TIME", want: Allow},
		{desc: "command docs", args: "COMMAND DOCS get", want: Allow},
		{desc: "blocking pop", args: "BLPOP k 0", want: Allow},
		{desc: "client caching", args: "CLIENT CACHING yes", want: Allow},
		{desc: "client reply", args: "CLIENT REPLY ON", want: Allow},
		{desc: "client no-touch", args: "CLIENT NO-TOUCH on", want: Allow},
		{desc: "client setinfo", args: "CLIENT SETINFO lib-name x", want: Allow},
		{desc: "pubsub container alone", args: "PUBSUB", want: Allow},
		{desc: "auth", args: "AUTH p", want: Authenticate},
		{desc: "hello auth", args: "HELLO 3 AUTH u p", want: Authenticate},
		{desc: "hello protocol", args: "HELLO 3", want: Allow},
		{desc: "unknown", args: "NOSUCH a b", want: Deny, msg: "unknown command 'NOSUCH'"},
		{desc: "unknown subcommand", args: "CLIENT NOSUCH", want: Deny, msg: "unknown subcommand"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a := argv(tc.args)
			got, msg := Isolate(command.LookupArgs(a), a, 3)
			if got != tc.want {
				t.Fatalf("%s: %v (%q), want %v", tc.args, got, msg, tc.want)
			}
			if (got == Deny) != (msg != "") {
				t.Errorf("%s: action %v with message %q", tc.args, got, msg)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("%s: message %q lacks %q", tc.args, msg, tc.msg)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("%s: message %q breaks the reply line", tc.args, msg)
			}
		})
	}
}

// TestIsolateScriptsWithTenantUser: scripts run only when the upstream
// login is the tenant's own user; the script cache and function libraries
// stay out of reach either way.
func TestIsolateScriptsWithTenantUser(t *testing.T) {
	tests := []struct {
		args       string
		with, sans Action
	}{
		{"EVAL return 0", Allow, Deny},
		{"EVALSHA abc 0", Allow, Deny},
		{"EVAL_RO s 0", Allow, Deny},
		{"EVALSHA_RO s 0", Allow, Deny},
		{"FCALL f 0", Allow, Deny},
		{"FCALL_RO f 0", Allow, Deny},
		{"SCRIPT LOAD s", Allow, Deny},
		{"SCRIPT EXISTS a b", Allow, Deny},
		{"FUNCTION LIST", Allow, Deny},
		{"SCRIPT FLUSH", Deny, Deny},
		{"SCRIPT KILL", Deny, Deny},
		{"SCRIPT DEBUG yes", Deny, Deny},
		{"FUNCTION LOAD code", Deny, Deny},
		{"FUNCTION DELETE lib", Deny, Deny},
		{"FUNCTION FLUSH", Deny, Deny},
		{"FUNCTION RESTORE x", Deny, Deny},
		{"FUNCTION DUMP", Deny, Deny},
		{"FUNCTION KILL", Deny, Deny},
		{"FUNCTION STATS", Deny, Deny},
		{"SELECT 4", Deny, Deny},
		{"MOVE k 4", Deny, Deny},
		{"GET k", Allow, Allow},
	}
	for _, tc := range tests {
		a := argv(tc.args)
		c := command.LookupArgs(a)
		if got, msg := IsolateIn(c, a, Scope{DB: 3, TenantUser: true}); got != tc.with {
			t.Errorf("%s with a tenant user: %v (%q), want %v", tc.args, got, msg, tc.with)
		}
		if got, msg := IsolateIn(c, a, Scope{DB: 3}); got != tc.sans {
			t.Errorf("%s without: %v (%q), want %v", tc.args, got, msg, tc.sans)
		}
	}
}

func TestIsolationTable(t *testing.T) {
	if len(unknownNames) > 0 {
		t.Fatalf("isolation rules name commands the table lacks: %v", unknownNames)
	}
	for id := command.ID(1); id <= command.MaxID; id++ {
		c := command.ByID(id)
		cl := isolation[id]
		// Administration is refused, except CLIENT LIST, which is filtered.
		if c.Categories.Has(command.CatAdmin) && cl.action != Deny && c.Name != "client|list" {
			t.Errorf("admin command %s is %v on a shared upstream", c.Name, cl.action)
		}
		if cl.action == Deny && !strings.HasPrefix(cl.message, "NOPERM ") {
			t.Errorf("%s: deny message %q", c.Name, cl.message)
		}
	}
}

func TestIsolateDoesNotAllocate(t *testing.T) {
	for _, line := range []string{"GET k", "SET k v", "SELECT 3", "COPY a b DB 3", "FLUSHALL", "MONITOR"} {
		a := argv(line)
		c := command.LookupArgs(a)
		if n := testing.AllocsPerRun(100, func() { Isolate(c, a, 3) }); n != 0 {
			t.Errorf("%s: %v allocs, want 0", line, n)
		}
	}
}

func TestActionString(t *testing.T) {
	if Deny.String() != "deny" || Authenticate.String() != "authenticate" || Action(99).String() != "action(99)" {
		t.Error("Action names out of step with the constants")
	}
}
