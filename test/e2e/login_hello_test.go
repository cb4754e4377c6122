package e2e

import (
	"fmt"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// TestLoginAnswersLikeRedis runs the same login conversations against a
// redis-server with requirepass and against the gateway in front of
// another one (a pass-through tenant), and wants the same replies: every
// HELLO or AUTH argument redis-server refuses gets redis-server's reply,
// options apply in order (an AUTH that succeeded stays logged in when a
// later option fails), and the connection's name is the client's alone.
func TestLoginAnswersLikeRedis(t *testing.T) {
	const pass = "hello-test-secret-0123456789"
	t.Setenv("HELLO_SECRET", pass)
	direct := redistest.Start(t, "--requirepass", pass)
	up := redistest.Start(t)
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams: {own: {address: %s}}
tenants: [{name: app, secret_env: HELLO_SECRET, upstream: own, role: full}]
`, addr, up.Addr), addr)

	// user is "default" directly and the tenant's name through the gateway.
	type step func(user string) []string
	cmd := func(args ...string) step { return func(string) []string { return args } }
	withUser := func(before []string, after ...string) step {
		return func(user string) []string { return append(append(append([]string{}, before...), user), after...) }
	}
	for _, tc := range []struct {
		desc  string
		steps []step
	}{
		{"version with a leading zero", []step{cmd("HELLO", "03"), cmd("PING")}},
		{"version with a plus sign", []step{cmd("HELLO", "+3"), cmd("PING")}},
		{"version 4, 0 and -1", []step{cmd("HELLO", "4"), cmd("HELLO", "0"), cmd("HELLO", "-1")}},
		{"version out of int64", []step{cmd("HELLO", "9223372036854775808")}},
		{"bad name after a good AUTH stays logged in, in RESP2",
			[]step{withUser([]string{"HELLO", "3", "AUTH"}, pass, "SETNAME", "a b"), cmd("PING"), cmd("CLIENT", "GETNAME"), cmd("HGETALL", "nohash")}},
		{"bad name before AUTH does not log in",
			[]step{withUser([]string{"HELLO", "3", "SETNAME", "a b", "AUTH"}, pass), cmd("PING")}},
		{"unknown option after a good AUTH", []step{withUser([]string{"HELLO", "2", "AUTH"}, pass, "BOGUS"), cmd("PING")}},
		{"option with a newline is echoed on one line", []step{cmd("HELLO", "3", "X\r\nY"), cmd("PING")}},
		{"AUTH option short of arguments", []step{cmd("HELLO", "3", "AUTH", "x"), cmd("PING")}},
		{"name set before a wrong password stays",
			[]step{withUser([]string{"HELLO", "3", "SETNAME", "early", "AUTH"}, "wrong-password"), withUser([]string{"AUTH"}, pass), cmd("CLIENT", "GETNAME")}},
		{"HELLO without AUTH before login", []step{cmd("HELLO", "3", "SETNAME", "x"), withUser([]string{"AUTH"}, pass), cmd("CLIENT", "GETNAME")}},
		{"no name of the proxy's own", []step{withUser([]string{"AUTH"}, pass), cmd("CLIENT", "GETNAME")}},
		{"name given at login", []step{withUser([]string{"HELLO", "2", "AUTH"}, pass, "SETNAME", "mine"), cmd("CLIENT", "GETNAME")}},
		{"AUTH arity", []step{cmd("AUTH"), cmd("AUTH", "a", "b", "c"), cmd("PING")}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			d, g := isoDialRaw(t, direct.Addr), isoDialRaw(t, addr)
			for i, s := range tc.steps {
				want := d.do(s("default")...)
				got := g.do(s("app")...)
				if want.typ == '%' || want.typ == '*' && len(want.elems) > 0 && want.elems[0].str == "server" {
					// A HELLO map names the server's id and version: compare its shape.
					if got.typ != want.typ {
						t.Fatalf("step %d %q: got %q, want a reply like %q", i, s("app"), got.raw, want.raw)
					}
					continue
				}
				if got.raw != want.raw {
					t.Fatalf("step %d %q: got %q, redis-server says %q", i, s("app"), got.raw, want.raw)
				}
			}
		})
	}
}
