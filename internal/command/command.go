// Package command is the table of every Redis 7.x command and subcommand:
// arity, flags, ACL categories and key positions, generated from Redis's
// own command metadata (see gen/). The proxy looks up each client command
// here before deciding what to do with it, so lookups do not allocate.
package command

//go:generate go run ./gen -in gen/commands.json -out table_gen.go

// ID identifies a command or subcommand. IDs are dense, from 1 to MaxID;
// 0 means "no command" (for example the Container of a top-level command).
type ID uint16

// Command is one Redis command or subcommand. Commands are immutable and
// shared; never modify one.
type Command struct {
	ID ID
	// Name is the lowercase full name: "get", or "client|list" for a
	// subcommand, as Redis's ACL rules and NOPERM errors spell it.
	Name string
	// Arity is Redis's arity: the exact argument count including the
	// command name when positive, a minimum of -Arity when negative.
	Arity      int
	Flags      Flags
	Categories Categories
	// FirstKey, LastKey and KeyStep are the legacy key range COMMAND INFO
	// reports (LastKey negative counts from the end; all zero when the
	// command has no plain key range). KeySpecs are complete; prefer them.
	FirstKey, LastKey, KeyStep int
	KeySpecs                   []KeySpec
	// Subcommands lists the IDs of a container's subcommands (CLIENT,
	// CONFIG, ...); Container is the parent of a subcommand.
	Subcommands []ID
	Container   ID
	Group       string // "string", "generic", "server", ...
	Since       string // Redis version that added it
}

// maxNameLen bounds names Lookup considers: longer input is not a command,
// and the bound lets lowercasing use a stack buffer.
const maxNameLen = 64

// Lookup returns the top-level command called name (any case), or nil.
// It resolves argv[0] as Redis does, so a name containing '|' is unknown:
// "CLIENT|KILL" is not a command on the wire. Lookup does not allocate.
func Lookup(name []byte) *Command {
	var buf [maxNameLen]byte
	n, ok := lower(buf[:0], name)
	if !ok {
		return nil
	}
	for _, ch := range n {
		if ch == '|' {
			return nil
		}
	}
	return ByID(byName[string(n)])
}

// LookupArgs returns the command args invokes, resolving the subcommand of
// a container (CLIENT LIST -> client|list). Like Redis, a container given
// alone returns the container itself (Redis answers it with an arity
// error) and an unknown subcommand returns nil. It does not allocate.
func LookupArgs(args [][]byte) *Command {
	if len(args) == 0 {
		return nil
	}
	c := Lookup(args[0])
	if c == nil || len(c.Subcommands) == 0 || len(args) == 1 {
		return c
	}
	var buf [2*maxNameLen + 1]byte
	n := append(append(buf[:0], c.Name...), '|') // Name is lowercase already
	n, ok := lower(n, args[1])
	if !ok {
		return nil
	}
	for _, ch := range n[len(c.Name)+1:] {
		if ch == '|' {
			return nil
		}
	}
	return ByID(byName[string(n)])
}

// ByName returns the command with the given lowercase full name ("get",
// "client|list"), or nil. It is for configuration, not the hot path.
func ByName(fullname string) *Command {
	if id, ok := byName[fullname]; ok {
		return ByID(id)
	}
	return nil
}

// ByID returns the command with the given ID, or nil for 0 and unknown IDs.
func ByID(id ID) *Command {
	if id == 0 || int(id) >= len(table) {
		return nil
	}
	return &table[id]
}

// Parent returns c's parent command, or nil for a top-level command.
func (c *Command) Parent() *Command { return ByID(c.Container) }

// lower appends name in lowercase to dst, which must have room: it reports
// false when it would not fit, so the caller's stack buffer never grows.
func lower(dst, name []byte) ([]byte, bool) {
	if len(dst)+len(name) > cap(dst) {
		return nil, false
	}
	for _, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst, true
}
