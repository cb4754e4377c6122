package policy

import "github.com/redoubt-proxy/redoubt/internal/command"

// classification is how isolation treats one command.
type classification struct {
	action  Action
	message string // for Deny
}

// Why the isolation refuses commands, shown to the client after the
// NOPERM text.
const (
	whyOtherDB   = "it reaches another DB of the shared Redis"
	whyScripts   = "scripts and functions need a per-tenant upstream user on a shared Redis, because Lua can SELECT another DB (the operator enables them with upstreams.<name>.tenant_users: managed or provided)"
	whyCache     = "the script cache and function libraries are shared by every tenant of the Redis (load functions with an administrator login)"
	whyRunning   = "the running script or function may be another tenant's"
	whyClients   = "it acts on other tenants' connections"
	whyServer    = "it observes or changes the whole shared server"
	whyReplicate = "replication and cluster commands reach every DB"
)

// isolationRules lists the commands that are not simply allowed. A name
// without "|" covers a container and all its subcommands. Every other
// command is allowed, except @admin ones, which are denied (whyServer):
// what this list forgets fails closed for administration commands.
var isolationRules = []struct {
	action Action
	why    string
	names  []string
}{
	{checkSelect, "", []string{"select"}},
	{checkCopy, "", []string{"copy"}},
	{checkTracking, "", []string{"client|tracking"}},
	{checkHello, "", []string{"hello"}},
	{Authenticate, "", []string{"auth"}},
	{RewriteFlushAll, "", []string{"flushall"}},
	{ResetLocal, "", []string{"reset"}},
	{FilterInfoKeyspace, "", []string{"info"}},
	{FilterClientList, "", []string{"client|list"}},
	{PrefixPubSub, "", []string{
		"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
		"ssubscribe", "sunsubscribe", "publish", "spublish",
		"pubsub|channels", "pubsub|numsub", "pubsub|numpat",
		"pubsub|shardchannels", "pubsub|shardnumsub",
	}},
	{Deny, whyOtherDB, []string{"swapdb", "move", "migrate"}},
	// Every SCRIPT and FUNCTION subcommand not named below is refused.
	{Deny, whyCache, []string{"script", "function"}},
	// Scripts run with the rights of the upstream user: allowed only when
	// that is the tenant's own user (Scope.TenantUser), denied otherwise.
	{checkScript, whyScripts, []string{
		"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro",
		"script|load", "script|exists", "script|help", "function|list", "function|help",
	}},
	// Server-wide whatever the login: SCRIPT FLUSH empties every tenant's
	// cache, FUNCTION LOAD/DELETE/RESTORE/FLUSH would change code that
	// other tenants' FCALLs run (with their rights, in their DBs), and
	// SCRIPT DEBUG forks or blocks the server.
	{Deny, whyCache, []string{
		"script|flush", "script|debug", "function|load", "function|delete",
		"function|flush", "function|restore", "function|dump",
	}},
	{Deny, whyRunning, []string{"script|kill", "function|kill", "function|stats"}},
	{Deny, whyClients, []string{
		"client|kill", "client|pause", "client|unpause", "client|no-evict", "client|unblock",
	}},
	{Deny, whyServer, []string{
		"monitor", "slowlog", "latency", "memory", "config", "debug", "shutdown",
		"save", "bgsave", "bgrewriteaof", "acl", "module", "pfdebug", "pfselftest",
	}},
	{Deny, whyReplicate, []string{
		"replicaof", "slaveof", "sync", "psync", "replconf", "cluster", "failover",
	}},
}

// isolation is isolationRules indexed by command ID; unknownNames are
// names in the rules the command table lacks (a test keeps it empty).
var isolation, unknownNames = buildIsolation()

func buildIsolation() (t [command.MaxID + 1]classification, unknown []string) {
	for id := command.ID(1); id <= command.MaxID; id++ {
		c := command.ByID(id)
		t[id] = classification{action: Allow}
		if c.Categories&command.CatAdmin != 0 {
			t[id] = classification{action: Deny, message: denyBecause(c, whyServer)}
		}
	}
	for _, r := range isolationRules {
		for _, n := range r.names {
			c := command.ByName(n)
			if c == nil {
				unknown = append(unknown, n)
				continue
			}
			for _, id := range append([]command.ID{c.ID}, c.Subcommands...) {
				cl := classification{action: r.action}
				if r.action == Deny || r.action == checkScript {
					cl.message = denyBecause(command.ByID(id), r.why)
				}
				t[id] = cl
			}
		}
	}
	return t, unknown
}

// alwaysDenied reports whether isolation refuses c whatever its arguments
// when the upstream login is not the tenant's own user (scripts included).
// The readwrite-strict and readonly roles leave these out, so they grant
// the same commands on a dedicated and on a shared upstream.
func alwaysDenied(c *command.Command) bool {
	a := isolation[c.ID].action
	return a == Deny || a == checkScript
}
