package proxy

import (
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// Replies to HELLO and AUTH arguments redis-server refuses, word for word.
var (
	replyHelloBadProto = []byte("-ERR Protocol version is not an integer or out of range\r\n")
	replyBadClientName = []byte("-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
)

// helloOpt is one AUTH or SETNAME option of a HELLO, in the order given.
type helloOpt struct {
	auth       bool
	user, pass []byte // AUTH
	name       []byte // SETNAME (empty clears the name, as in redis-server)
}

// helloRequest is a parsed HELLO [protover [AUTH user pass] [SETNAME name]].
// redis-server applies the options one by one and stops at the first that
// fails, keeping the effect of those before it (an AUTH that succeeded
// stays logged in; a SETNAME that was accepted stays set): walk does the
// same, so a client sees the reply and the state redis-server would give it.
type helloRequest struct {
	hello upstream.Hello
	opts  []helloOpt
	// syntax is the syntax error redis-server answers once it reaches the
	// first unknown option (after applying the options before it).
	syntax []byte
	// nameSet: a SETNAME was applied (hello.SetName holds it, maybe empty).
	nameSet bool
}

// parseHello parses HELLO's arguments as redis-server does. A bad protocol
// version is answered before anything else is looked at (the returned
// reply); an unknown option is answered by walk, in its turn.
func parseHello(args [][]byte) (*helloRequest, []byte) {
	h := &helloRequest{}
	if len(args) == 1 {
		return h, nil
	}
	v, ok := redisInt(args[1])
	if !ok {
		return nil, replyHelloBadProto
	}
	if v != 2 && v != 3 {
		return nil, replyNoProto
	}
	h.hello.Proto = int(v)
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case resp.EqualFold(args[i], "AUTH") && more >= 2:
			h.opts = append(h.opts, helloOpt{auth: true, user: args[i+1], pass: args[i+2]})
			i += 2
		case resp.EqualFold(args[i], "SETNAME") && more >= 1:
			h.opts = append(h.opts, helloOpt{name: args[i+1]})
			i++
		default:
			h.syntax = resp.AppendError(nil, "ERR Syntax error in HELLO option '"+errorSafe(args[i])+"'")
			return h, nil
		}
	}
	return h, nil
}

// walk applies the options in order. auth checks one AUTH and returns nil
// or the reply that refuses it; walk stops there, as at a bad client name
// or the syntax error, and returns that reply. A nil result means every
// option was applied.
func (h *helloRequest) walk(auth func(user, pass []byte) []byte) []byte {
	for _, o := range h.opts {
		if o.auth {
			if r := auth(o.user, o.pass); r != nil {
				return r
			}
			continue
		}
		if !validClientName(o.name) {
			return replyBadClientName
		}
		h.hello.SetName, h.nameSet = o.name, true
	}
	return h.syntax
}

// validClientName is redis-server's rule for connection names: printable
// ASCII without spaces (the empty name clears the name).
func validClientName(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// redisInt parses a signed 64-bit integer exactly as redis-server's
// string2ll does: no sign but '-', no leading zeros, no spaces, no
// overflow. So "03" and "+3" are not integers, as for redis-server.
func redisInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	switch {
	case !neg && v > 1<<63-1, neg && v > 1<<63:
		return 0, false
	case neg:
		return int64(-v), true //nolint:gosec // -(1<<63) wraps to itself, as intended
	}
	return int64(v), true
}

// authArityReply is redis-server's reply to AUTH with an arity authArgs
// refuses: too few arguments fail the command table's arity check, too
// many AUTH's own syntax check.
func authArityReply(args [][]byte) []byte {
	if len(args) > 3 {
		return replySyntaxError
	}
	return replyAuthArity
}

var replySyntaxError = []byte("-ERR syntax error\r\n")

// authArgs splits AUTH's arguments: AUTH <secret> or AUTH <user> <secret>.
// ok is false for any other arity.
func authArgs(args [][]byte) (user, pass []byte, ok bool) {
	switch len(args) {
	case 2:
		return nil, args[1], true
	case 3:
		return args[1], args[2], true
	}
	return nil, nil, false
}

// errorSafe is what redis-server does to a client argument it echoes in an
// error (addReplyErrorFormat): CR and LF become spaces so the reply stays
// one line. The pre-login limits bound the argument's length.
func errorSafe(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c == '\r' || c == '\n' {
			c = ' '
		}
		out[i] = c
	}
	return string(out)
}
