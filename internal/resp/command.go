package resp

import "math"

// Command is one parsed client request. Reuse one Command per connection:
// its slices are recycled, so steady-state parsing does not allocate.
type Command struct {
	// Args alias the buffer given to ParseCommand and stay valid until the
	// caller reuses that buffer. Inline arguments that had quotes or escapes
	// alias an internal scratch buffer instead, valid until the next parse.
	// The backing array of Args is reused across calls. Args is empty
	// unless ParseCommand returned a nil error.
	Args   [][]byte
	Inline bool

	// scratch holds inline arguments decoded from quotes and escapes.
	scratch []byte
	// offs holds start,end offsets of the multibulk arguments parsed so far.
	// Offsets rather than slices let a parse resume correctly after the
	// caller moved its buffer (compacted or grew it) between calls.
	offs []int
	// resumeAt > 0 means the last call returned ErrIncomplete inside a
	// multibulk: the header and len(offs)/2 arguments before resumeAt were
	// already checked, and resumeLeft arguments are still due. Without this
	// a client trickling in a many-argument command would make us re-parse
	// it from the start on every read (quadratic CPU).
	resumeAt   int
	resumeLeft int64
	// need is what Need reports.
	need int
}

// Need returns, after ErrIncomplete, how many bytes from the start of the
// request the buffer must hold for the parse to get further: the end of
// the bulk argument under way, whose length its header declared. It is 0
// when that is not known yet (a header line is incomplete). A reader uses
// it to grow its buffer once to the right size instead of doubling.
func (c *Command) Need() int { return c.need }

// Mem returns the bytes held by the Command's own arrays (parsed
// argument positions, argument slices, decoded inline arguments): about
// 40 bytes per argument of a multibulk request, which a caller bounding
// a request's memory must count along with the request's bytes.
func (c *Command) Mem() int {
	return cap(c.offs)*8 + cap(c.Args)*24 + cap(c.scratch)
}

// Name returns the command name (the first argument, in the case the client
// sent it), or nil for an empty command.
func (c *Command) Name() []byte {
	if len(c.Args) == 0 {
		return nil
	}
	return c.Args[0]
}

// Reset forgets a partly parsed command. Call it before parsing a buffer
// that does not continue the one of the last ErrIncomplete.
func (c *Command) Reset() {
	c.Args = c.Args[:0]
	c.Inline = false
	c.offs = c.offs[:0]
	c.resumeAt, c.resumeLeft = 0, 0
}

// ParseCommand parses one request at the start of buf, as redis-server 7's
// processMultibulkBuffer / processInlineBuffer would, and returns the number
// of bytes it used.
//
// A buffer starting with '*' is a multibulk; anything else is an inline
// command split like sdssplitargs. Requests redis treats as no-ops (an empty
// inline line, "*0", any negative count) come back as a Command with no Args
// and n > 0: the caller skips them. ErrIncomplete means more bytes are
// needed; after it, call again with the same bytes followed by more (moving
// them within or to another buffer is fine), or call cmd.Reset first.
// A *ProtocolError is fatal: reply "-ERR "+err.Error() and close.
//
// As in redis, the byte after the '\r' ending a header and the two bytes after
// a bulk payload are skipped without being checked for "\r\n": a proxy that
// was stricter or looser than the server could be made to see different
// commands than the server executes.
func ParseCommand(buf []byte, cmd *Command, lim *Limits) (n int, err error) {
	cmd.Args = cmd.Args[:0]
	cmd.Inline = false
	cmd.need = 0
	if len(buf) == 0 || buf[0] != '*' {
		cmd.resumeAt = 0
		if len(buf) == 0 {
			return 0, ErrIncomplete
		}
		cmd.Inline = true
		return parseInline(buf, cmd, lim)
	}
	n, err = parseMultibulk(buf, cmd, lim)
	if err != ErrIncomplete {
		cmd.resumeAt = 0
	}
	return n, err
}

// findCR returns the index in buf of the '\r' ending the header line that
// starts at from, or -1 when the line is not complete yet. Like redis's
// strchr on its NUL-terminated query buffer, a NUL byte hides any '\r' after
// it. The line must also be followed by one more byte (redis assumes '\n').
// As in redis, a line is too long (a protocol error, msg) only while no
// '\r' has arrived and more than max bytes wait: a '\r' found in what is
// buffered ends the line whatever its length (and an overlong count then
// fails as an invalid number).
func findCR(buf []byte, from, max int, msg string) (int, error) {
	rest := buf[from:]
	for i, c := range rest {
		if c == '\r' {
			if from+i+1 >= len(buf) {
				return -1, ErrIncomplete
			}
			return from + i, nil
		}
		if c == 0 {
			// redis never looks past a NUL: it waits for more data
			// until the buffer outgrows the limit.
			break
		}
	}
	if len(rest) > max {
		return -1, protoErr(msg)
	}
	return -1, ErrIncomplete
}

func parseMultibulk(buf []byte, cmd *Command, lim *Limits) (int, error) {
	maxInline := lim.maxInline()
	pos, left := 0, int64(0)
	if cmd.resumeAt > 0 && cmd.resumeAt <= len(buf) && len(cmd.offs)%2 == 0 {
		pos, left = cmd.resumeAt, cmd.resumeLeft
	} else {
		cmd.offs = cmd.offs[:0]
		cr, err := findCR(buf, 0, maxInline, "too big mbulk count string")
		if err != nil {
			return 0, err
		}
		count, ok := parseInt(buf[1:cr])
		switch {
		case !ok || count > math.MaxInt32:
			return 0, protoErr("invalid multibulk length")
		case lim.preAuth() && count > lim.preAuthArgs():
			return 0, protoErr("unauthenticated multibulk length")
		case count > lim.maxArray():
			// redis accepts up to INT_MAX; we cap lower, same error.
			return 0, protoErr("invalid multibulk length")
		}
		pos = cr + 2
		if count <= 0 {
			return pos, nil // redis ignores "*0", "*-1" and any negative count
		}
		left = count
	}

	maxBulk := lim.maxBulk()
	for left > 0 {
		cr, err := findCR(buf, pos, maxInline, "too big bulk count string")
		if err != nil {
			cmd.resumeAt, cmd.resumeLeft = pos, left
			return 0, err
		}
		if buf[pos] != '$' {
			return 0, expectedDollar(buf[pos])
		}
		size, ok := parseInt(buf[pos+1 : cr])
		switch {
		case !ok || size < 0 || size > maxBulk:
			return 0, protoErr("invalid bulk length")
		case lim.preAuth() && size > lim.preAuthBulk():
			return 0, protoErr("unauthenticated bulk length")
		}
		start := cr + 2
		// Written so that nothing can overflow: size <= maxBulk is any int64.
		if size > int64(len(buf)-start-2) {
			cmd.resumeAt, cmd.resumeLeft = pos, left
			cmd.need = start + int(size) + 2
			return 0, ErrIncomplete
		}
		end := start + int(size)
		cmd.offs = append(cmd.offs, start, end)
		pos = end + 2
		left--
	}
	for i := 0; i+1 < len(cmd.offs); i += 2 {
		cmd.Args = append(cmd.Args, buf[cmd.offs[i]:cmd.offs[i+1]:cmd.offs[i+1]])
	}
	cmd.offs = cmd.offs[:0]
	return pos, nil
}

// expectedDollar builds redis's "expected '$', got 'X'" error; like
// addReplyErrorFormat it turns '\r' and '\n' into spaces so the error reply
// stays one line.
func expectedDollar(c byte) error {
	if c == '\r' || c == '\n' {
		c = ' '
	}
	return &ProtocolError{Msg: "Protocol error: expected '$', got '" + string([]byte{c}) + "'"}
}

// EqualFold reports whether b equals s, ignoring ASCII case, without
// allocating. It is meant for command names: EqualFold(cmd.Name(), "GET").
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x != y && lower(x) != lower(y) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
