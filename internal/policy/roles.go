package policy

import "github.com/redoubt-proxy/redoubt/internal/command"

// roleFull allows every known command.
func roleFull() bitset {
	return selectCommands(func(*command.Command) bool { return true })
}

// roleReadWrite is what applications need (measured with Celery, RQ,
// Sidekiq, BullMQ, redis-py's Lock, go-redis and ioredis; see
// docs/policy.md): every command outside @admin, which brings INFO,
// FLUSHDB, FLUSHALL, KEYS, SORT and scripts along, plus CLIENT LIST. On a
// shared upstream the isolation still decides on top: INFO and CLIENT LIST
// are filtered, FLUSHALL becomes FLUSHDB, SWAPDB/MOVE/MIGRATE are refused,
// and scripts run only with a per-tenant upstream user.
func roleReadWrite() bitset {
	clientList := command.ByName("client|list")
	return selectCommands(func(c *command.Command) bool {
		return c.Categories&command.CatAdmin == 0 || c == clientList
	})
}

// roleReadWriteStrict allows the data commands only: nothing in @admin or
// @dangerous (server administration, FLUSHALL/FLUSHDB, KEYS, SORT, INFO,
// ...), and nothing the shared-upstream isolation refuses without a
// per-tenant upstream user (scripts and functions, MOVE, MEMORY, ...), so
// the role means the same on a dedicated and on a shared upstream. It was
// readwrite before readwrite followed what applications send. Rules can
// add commands back.
func roleReadWriteStrict() bitset {
	return selectCommands(func(c *command.Command) bool {
		return c.Categories&(command.CatAdmin|command.CatDangerous) == 0 && !alwaysDenied(c)
	})
}

// readOnlyConnection are the connection commands a readonly tenant needs
// to log in, identify itself and keep a session going; none writes data.
var readOnlyConnection = []string{
	"auth", "hello", "ping", "echo", "select", "quit", "reset",
	"client", "client|setname", "client|getname", "client|setinfo",
	"client|id", "client|info",
	"command", "command|count", "command|docs", "command|info", "command|list",
	"command|getkeys", "command|getkeysandflags", "command|help",
}

// roleReadOnly allows @read, the connection commands above and
// transactions (MULTI/EXEC of reads), and nothing in @write, @admin or
// @dangerous (which excludes KEYS, a @read command that can block the
// server), nor anything isolation always refuses.
func roleReadOnly() bitset {
	named := map[string]bool{}
	for _, n := range readOnlyConnection {
		named[n] = true
	}
	return selectCommands(func(c *command.Command) bool {
		if c.Categories&(command.CatWrite|command.CatAdmin|command.CatDangerous) != 0 || alwaysDenied(c) {
			return false
		}
		return named[c.Name] || c.Categories&(command.CatRead|command.CatTransaction) != 0
	})
}

func selectCommands(keep func(*command.Command) bool) bitset {
	var b bitset
	for id := command.ID(1); id <= command.MaxID; id++ {
		if keep(command.ByID(id)) {
			b.set(id, true)
		}
	}
	return b
}
