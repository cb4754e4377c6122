package resp

// parseInline handles a request that does not start with '*', like
// redis-server's processInlineBuffer: one line ending in "\n" or "\r\n",
// split into arguments like sdssplitargs.
func parseInline(buf []byte, cmd *Command, lim *Limits) (int, error) {
	// As redis-server: the line may be longer than max if its '\n' is
	// already here; only a line still open past max bytes is refused.
	max := lim.maxInline()
	nl := -1
	for i, c := range buf {
		if c == '\n' {
			nl = i
			break
		}
		if c == 0 {
			// redis's strchr stops at a NUL and waits for a newline it
			// can never see, until the buffer outgrows the limit.
			break
		}
	}
	if nl < 0 {
		if len(buf) > max {
			return 0, protoErr("too big inline request")
		}
		return 0, ErrIncomplete
	}
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if !splitArgs(line, cmd) {
		cmd.Args = cmd.Args[:0]
		return 0, protoErr("unbalanced quotes in request")
	}
	return nl + 1, nil
}

// isSpace is C's isspace in the C locale, which sdssplitargs uses between
// arguments (inside an unquoted argument only ' ', '\t', '\r', '\n' end it).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// splitArgs appends the arguments of line to cmd.Args with sdssplitargs's
// rules, reporting false for unbalanced quotes or a closing quote followed by
// something other than a space. Plain arguments alias line; arguments with
// quotes are decoded into cmd.scratch. line contains no NUL (parseInline
// never hands one over), so "past the end" plays the role of C's '\0'.
func splitArgs(line []byte, cmd *Command) bool {
	cmd.scratch = cmd.scratch[:0]
	p := 0
	for {
		for p < len(line) && isSpace(line[p]) {
			p++
		}
		if p == len(line) {
			return true
		}
		start := p
		for p < len(line) && !endsPlain(line[p]) {
			p++
		}
		if p == len(line) || line[p] != '"' && line[p] != '\'' {
			cmd.Args = append(cmd.Args, line[start:p:p])
			if p < len(line) {
				p++ // the terminator, as sdssplitargs does
			}
			continue
		}
		// Decoded text is never longer than its source, so sizing scratch
		// to the line once means appends never move earlier arguments.
		if cap(cmd.scratch) < len(line) {
			cmd.scratch = make([]byte, 0, len(line))
		}
		var ok bool
		if p, ok = decodeArg(line, start, cmd); !ok {
			return false
		}
	}
}

// endsPlain reports whether c ends the fast path for an unquoted argument:
// a terminator or the start of a quote.
func endsPlain(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\''
}

// decodeArg decodes one argument starting at p following sdssplitargs
// step by step, and returns the position after it.
func decodeArg(line []byte, p int, cmd *Command) (int, bool) {
	at := func(i int) byte {
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	out := len(cmd.scratch)
	inq, insq := false, false
	for done := false; !done; {
		c := at(p)
		switch {
		case inq:
			switch {
			case c == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
				cmd.scratch = append(cmd.scratch, unhex(at(p+2))<<4|unhex(at(p+3)))
				p += 3
			case c == '\\' && at(p+1) != 0:
				p++
				cmd.scratch = append(cmd.scratch, unescape(line[p]))
			case c == '"':
				if n := at(p + 1); n != 0 && !isSpace(n) {
					return p, false
				}
				done = true
			case c == 0:
				return p, false
			default:
				cmd.scratch = append(cmd.scratch, c)
			}
		case insq:
			switch {
			case c == '\\' && at(p+1) == '\'':
				p++
				cmd.scratch = append(cmd.scratch, '\'')
			case c == '\'':
				if n := at(p + 1); n != 0 && !isSpace(n) {
					return p, false
				}
				done = true
			case c == 0:
				return p, false
			default:
				cmd.scratch = append(cmd.scratch, c)
			}
		default:
			switch c {
			case ' ', '\n', '\r', '\t', 0:
				done = true
			case '"':
				inq = true
			case '\'':
				insq = true
			default:
				cmd.scratch = append(cmd.scratch, c)
			}
		}
		if p < len(line) {
			p++
		}
	}
	end := len(cmd.scratch)
	cmd.Args = append(cmd.Args, cmd.scratch[out:end:end])
	return p, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// unescape maps the character after a backslash inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
