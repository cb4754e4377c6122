// Package policy decides which commands a tenant may run: a role and Redis
// ACL command rules compiled once into a bitset over the command table, and
// the extra checks that keep a tenant pinned to one DB of a shared Redis
// inside that DB (Isolate).
package policy

import (
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// Policy is a compiled set of allowed commands. It is immutable, so one
// Policy is shared by every session of a tenant; checking is a bit test.
type Policy struct {
	allow bitset
}

// bitset has one bit per command ID.
type bitset [command.MaxID/64 + 1]uint64

func (b *bitset) set(id command.ID, on bool) {
	if on {
		b[id/64] |= 1 << (id % 64)
	} else {
		b[id/64] &^= 1 << (id % 64)
	}
}

func (b *bitset) has(id command.ID) bool { return b[id/64]&(1<<(id%64)) != 0 }

// Roles a tenant can have.
const (
	RoleFull      = "full"
	RoleReadWrite = "readwrite"
	RoleReadOnly  = "readonly"
	// RoleReadWriteStrict is readwrite as it was before it followed what
	// applications send: no @admin, no @dangerous, no scripts.
	RoleReadWriteStrict = "readwrite-strict"
)

// Compile builds the policy of role (full, readwrite, readwrite-strict,
// readonly, or "" for
// none, so that rules alone decide) followed by rules in Redis ACL command
// syntax, applied left to right: "+@read -keys +client|list -@dangerous".
// Every problem in rules is reported, joined, each naming its rule.
func Compile(role, rules string) (*Policy, error) {
	p := &Policy{}
	switch role {
	case RoleFull:
		p.allow = roleFull()
	case RoleReadWrite:
		p.allow = roleReadWrite()
	case RoleReadWriteStrict:
		p.allow = roleReadWriteStrict()
	case RoleReadOnly:
		p.allow = roleReadOnly()
	case "":
	default:
		return nil, fmt.Errorf("unknown role (want %s, %s, %s or %s)", RoleFull, RoleReadWrite, RoleReadWriteStrict, RoleReadOnly)
	}
	if err := applyRules(&p.allow, rules); err != nil {
		return nil, err
	}
	// As in Redis, commands usable before login (AUTH, HELLO, QUIT, RESET)
	// are never refused by rules: a client must always be able to log in
	// and out. The proxy answers AUTH and RESET itself.
	for id := command.ID(1); id <= command.MaxID; id++ {
		if command.ByID(id).Flags.Has(command.FlagNoAuth) {
			p.allow.set(id, true)
		}
	}
	return p, nil
}

// Allowed reports whether c may run. An unknown command (nil) never may:
// deny by default. For a subcommand only its own bit counts, as in Redis.
func (p *Policy) Allowed(c *command.Command) bool {
	return c != nil && p.allow.has(c.ID)
}
