package policy

import (
	"strconv"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// MustCompile is Compile for fixed, known-good arguments in tests.
func MustCompile(role, rules string) *Policy {
	p, err := Compile(role, rules)
	if err != nil {
		panic(err)
	}
	return p
}

// infoListed reports whether the table names the field (by name or
// prefix), as opposed to dropping it by default.
func infoListed(name string) bool {
	if _, ok := infoExact[name]; ok {
		return true
	}
	for _, f := range infoPrefixes {
		if len(name) >= len(f.name) && name[:len(f.name)] == f.name {
			return true
		}
	}
	return false
}

var actionNames = [...]string{"deny", "allow", "rewrite-flushall", "select-pinned",
	"filter-info-keyspace", "filter-client-list", "prefix-pubsub", "reset-local", "authenticate"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Isolate classifies c, invoked with args (args[0] is the command name),
// for a tenant pinned to pinnedDB on a shared upstream whose connection
// logs in with the upstream's own login, and gives the error text when
// the action is Deny. It is IsolateIn without a tenant user.
func Isolate(c *command.Command, args [][]byte, pinnedDB int) (Action, string) {
	return IsolateIn(c, args, Scope{DB: pinnedDB})
}
