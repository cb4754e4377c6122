package command

// KeyFlags describe how a key spec's keys are used (Redis's key-spec flags).
type KeyFlags uint16

// Key-spec flags, named as in Redis.
const (
	KeyRO KeyFlags = 1 << iota
	KeyRW
	KeyOW
	KeyRM
	KeyAccess
	KeyUpdate
	KeyInsert
	KeyDelete
	KeyNotKey
	KeyIncomplete
	KeyVariableFlags
)

// SearchKind says how a key spec finds where its keys begin.
type SearchKind uint8

// Begin-search kinds.
const (
	SearchUnknown SearchKind = iota // keys cannot be found from the spec (SORT's BY/GET)
	SearchIndex                     // keys begin at a fixed index
	SearchKeyword                   // keys begin after a keyword (GEORADIUS ... STORE key)
)

// FindKind says how a key spec finds its keys once it knows where they begin.
type FindKind uint8

// Find-keys kinds.
const (
	FindUnknown FindKind = iota
	FindRange            // a range of LastKey/KeyStep/Limit
	FindKeyNum           // an argument gives the number of keys (EVAL, ZUNIONSTORE)
)

// KeySpec is one of Redis's key specifications: enough to locate every key
// argument of a command, which the key-prefix namespaces rewrite.
type KeySpec struct {
	Flags KeyFlags

	Search SearchKind
	// Index is where keys begin (SearchIndex).
	Index int
	// Keyword is searched for from StartFrom (negative: from the end,
	// backwards); keys begin after it (SearchKeyword).
	Keyword   string
	StartFrom int

	Find FindKind
	// FindRange: the last key relative to the first (negative: relative to
	// the end), the step between keys, and Limit, which when non-zero with
	// LastKey -1 means "1/Limit of the remaining arguments" (XREAD STREAMS).
	LastKey, KeyStep, Limit int
	// FindKeyNum: the index of the key count relative to the begin index,
	// and of the first key relative to the begin index (KeyStep applies).
	KeyNumIdx, FirstKeyIdx int
}

// Keys returns the positions in args (args[0] is the command name) of the
// key arguments. See AppendKeys.
func (c *Command) Keys(args [][]byte) []int {
	keys, _ := c.AppendKeys(nil, args)
	return keys
}

// AppendKeys appends to dst the positions in args of c's key arguments,
// found with its key specs the way Redis's getKeysUsingKeySpecs does, and
// reports whether the result is complete. It is not complete when a spec
// cannot be followed: an unknown spec (SORT's BY/GET/STORE), an incomplete
// one (MIGRATE), or arguments that do not fit the spec (a bad numkeys);
// a caller that must see every key (namespaces) then has to refuse the
// command. Specs flagged NOT_KEY (shard channels) are skipped. With room
// in dst, AppendKeys does not allocate.
func (c *Command) AppendKeys(dst []int, args [][]byte) ([]int, bool) {
	complete := true
	for i := range c.KeySpecs {
		ks := &c.KeySpecs[i]
		if ks.Flags&KeyNotKey != 0 {
			continue
		}
		first, last, step, ok := ks.bounds(args)
		if !ok {
			complete = false
			continue
		}
		if first == 0 {
			continue // no keys for this spec here
		}
		for j := first; j <= last; j += step {
			dst = append(dst, j)
		}
		if ks.Flags&KeyIncomplete != 0 {
			complete = false
		}
	}
	return dst, complete
}

// bounds returns the first and last key index and the step of one spec for
// args, first 0 when the spec has no keys in args (keyword absent, numkeys
// 0), ok false when the spec cannot be followed.
func (ks *KeySpec) bounds(args [][]byte) (first, last, step int, ok bool) {
	argc := len(args)
	switch ks.Search {
	case SearchIndex:
		first = ks.Index
	case SearchKeyword:
		first = ks.findKeyword(args)
		if first == 0 {
			return 0, 0, 0, true
		}
	default:
		return 0, 0, 0, false
	}
	switch ks.Find {
	case FindRange:
		step = ks.KeyStep
		switch {
		case ks.LastKey >= 0:
			last = first + ks.LastKey
		case ks.Limit == 0:
			last = argc + ks.LastKey
		default:
			last = first + ((argc-first)/ks.Limit + ks.LastKey)
		}
	case FindKeyNum:
		step = ks.KeyStep
		idx := first + ks.KeyNumIdx
		if idx >= argc {
			return 0, 0, 0, false
		}
		n, ok := parseCount(args[idx])
		if !ok {
			return 0, 0, 0, false
		}
		if n == 0 {
			// Zero keys is valid (EVAL s 0); Redis's generic spec walk
			// calls it invalid, but its EVAL key function does not.
			return 0, 0, 0, true
		}
		first += ks.FirstKeyIdx
		last = first + n - 1
	default:
		return 0, 0, 0, false
	}
	if step <= 0 || last >= argc || last < first || first >= argc {
		return 0, 0, 0, false
	}
	return first, last, step, true
}

// findKeyword returns the index after ks.Keyword, searching as Redis does
// (forwards up to the second-to-last argument, or backwards from the end
// down to index 2), or 0 when absent.
func (ks *KeySpec) findKeyword(args [][]byte) int {
	argc := len(args)
	start, end := ks.StartFrom, argc-1
	if ks.StartFrom <= 0 {
		start, end = argc+ks.StartFrom, 1
	}
	for i := start; i != end; {
		if i >= argc || i < 1 {
			break
		}
		if equalFold(args[i], ks.Keyword) {
			return i + 1
		}
		if start <= end {
			i++
		} else {
			i--
		}
	}
	return 0
}

// parseCount parses a non-negative decimal that fits an int32, in Redis's
// strict form (no sign, no leading zeros): the command would reject
// anything else, so no keys are guessed from it.
func parseCount(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	n := 0
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int(ch-'0')
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
