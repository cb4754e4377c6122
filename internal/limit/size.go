package limit

import (
	"strconv"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// checkSize applies the size limits to one command. It returns the reason
// and the error reply when the command is refused, or a nil message.
func checkSize(l *limits, c *command.Command, args [][]byte, size int) (int, []byte) {
	if l.RequestBytes > 0 && int64(size) > l.RequestBytes {
		return ReasonRequestBytes, tooBig("request of ", int64(size), " bytes is over this tenant's max_request_bytes", l.RequestBytes)
	}
	if c == nil || !c.Flags.Has(command.FlagDenyoom) {
		return 0, nil // neither writes a value nor allocates by offset
	}
	if l.ValueBytes > 0 {
		for _, a := range args[1:] {
			if int64(len(a)) > l.ValueBytes {
				return ReasonValueBytes, tooBig("argument of ", int64(len(a)), " bytes is over this tenant's max_value_bytes", l.ValueBytes)
			}
		}
	}
	if l.Offset > 0 {
		if n := offsetReach(c, args); n > l.Offset {
			return ReasonOffset, tooBig("offset would make a string of ", n, " bytes, over this tenant's max_offset", l.Offset)
		}
	}
	return 0, nil
}

// tooBig builds a refusal; only refused commands pay for it.
func tooBig(pre string, n int64, mid string, limit int64) []byte {
	b := append([]byte("-ERR redoubt: "), pre...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, mid...)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, limit, 10)
	return append(b, ")\r\n"...)
}

// offsetReach returns the length in bytes a string would grow to under an
// offset-addressed write (SETRANGE, SETBIT, BITFIELD SET/INCRBY), or 0. A
// malformed offset gives 0: Redis refuses the command itself.
func offsetReach(c *command.Command, args [][]byte) int64 {
	switch c.Name {
	case "setrange": // SETRANGE key offset value
		if len(args) != 4 || len(args[3]) == 0 {
			return 0 // an empty value does not grow the string
		}
		off, ok := parseUint(args[2])
		if !ok {
			return 0
		}
		return satAdd(off, int64(len(args[3])))
	case "setbit": // SETBIT key offset value
		if len(args) != 4 {
			return 0
		}
		off, ok := parseUint(args[2])
		if !ok {
			return 0
		}
		return off/8 + 1
	case "bitfield":
		return bitfieldReach(args)
	}
	return 0
}

// bitfieldReach walks BITFIELD key [GET type off] [SET type off v]
// [INCRBY type off incr] [OVERFLOW x] and returns the furthest byte a SET
// or INCRBY reaches. Offsets "#n" count in units of the type's width.
func bitfieldReach(args [][]byte) int64 {
	var reach int64
	for i := 2; i < len(args); {
		op := args[i]
		switch {
		case eqFold(op, "get"):
			i += 3
		case eqFold(op, "overflow"):
			i += 2
		case eqFold(op, "set"), eqFold(op, "incrby"):
			if i+2 >= len(args) {
				return reach
			}
			width, ok := bitWidth(args[i+1])
			if !ok {
				return reach
			}
			off := args[i+2]
			mult := int64(1)
			if len(off) > 0 && off[0] == '#' {
				off, mult = off[1:], width
			}
			n, ok := parseUint(off)
			if !ok {
				return reach
			}
			if n > (1<<62)/mult {
				return 1 << 62
			}
			reach = max(reach, (n*mult+width+7)/8)
			i += 4
		default:
			return reach
		}
	}
	return reach
}

// bitWidth parses a BITFIELD type, i1..i64 or u1..u63.
func bitWidth(t []byte) (int64, bool) {
	if len(t) < 2 || (t[0]|0x20 != 'i' && t[0]|0x20 != 'u') {
		return 0, false
	}
	w, ok := parseUint(t[1:])
	if !ok || w < 1 || w > 64 {
		return 0, false
	}
	return w, true
}

// parseUint parses a non-negative decimal without allocating; false for
// anything else, or a value past 2^62 (Redis's offsets stop far below).
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
		if n > 1<<62 {
			return 0, false
		}
	}
	return n, true
}

func satAdd(a, b int64) int64 {
	if a > (1<<62)-b {
		return 1 << 62
	}
	return a + b
}

// eqFold compares an argument with a lowercase word, ignoring ASCII case.
func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// quotaRefusal returns the -OOM reply for a tenant over a quota, or nil.
// Like Redis's maxmemory, it refuses only commands that may add data
// (denyoom): reads and deletes still work, so the tenant can make room.
func (t *Tenant) quotaRefusal(l *limits) []byte {
	if t.overKeys.Load() {
		t.refused[ReasonKeys].Add(1)
		return quotaMsg("max_keys", t.keys.Load(), l.Keys, " keys")
	}
	if t.overMem.Load() {
		t.refused[ReasonMemory].Add(1)
		return quotaMsg("max_memory_bytes", t.memory.Load(), l.MemoryBytes, " bytes")
	}
	return nil
}

func quotaMsg(key string, used, limit int64, unit string) []byte {
	b := append([]byte("-OOM redoubt: this tenant is over its "), key...)
	b = append(b, " quota ("...)
	b = strconv.AppendInt(b, used, 10)
	b = append(b, " of "...)
	b = strconv.AppendInt(b, limit, 10)
	b = append(b, unit...)
	return append(b, "); delete data to write again\r\n"...)
}
