package proxy

import (
	"strconv"

	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// helloRequest is a parsed HELLO [protover [AUTH user pass] [SETNAME name]].
type helloRequest struct {
	hello      upstream.Hello
	user, pass []byte
	hasAuth    bool
}

// parseHello parses HELLO's arguments as redis-server does; on error it
// returns the reply to send.
func parseHello(args [][]byte) (*helloRequest, []byte) {
	h := &helloRequest{}
	if len(args) == 1 {
		return h, nil
	}
	v, err := strconv.Atoi(string(args[1]))
	if err != nil {
		return nil, []byte("-ERR Protocol version is not an integer or out of range\r\n")
	}
	if v != 2 && v != 3 {
		return nil, replyNoProto
	}
	h.hello.Proto = v
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case resp.EqualFold(args[i], "AUTH") && more >= 2:
			h.user, h.pass, h.hasAuth = args[i+1], args[i+2], true
			i += 2
		case resp.EqualFold(args[i], "SETNAME") && more >= 1:
			h.hello.SetName = append([]byte(nil), args[i+1]...)
			i++
		default:
			return nil, resp.AppendError(nil, "ERR Syntax error in HELLO option '"+printable(args[i])+"'")
		}
	}
	return h, nil
}

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

// printable echoes at most 64 bytes of a client argument in an error,
// without control characters that could break the reply framing.
func printable(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
