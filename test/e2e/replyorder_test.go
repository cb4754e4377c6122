package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// The reply-order tests: every reply the gateway sends must answer its own
// request. The three triggers below once shifted the inspecting relay's
// reply queue by one, and an unfiltered INFO or CLIENT LIST reply went
// through in the filtered request's place (replyorder_random_test.go
// looks for more of the class).

// isoInfoOwn is INFO keyspace as alice must see it: a string holding the
// keyspace section with her DB's line and no other DB's.
func isoInfoOwn(db int) isoMatch {
	return isoMatch{desc: fmt.Sprintf("INFO keyspace with db%d only", db), ok: func(r isoReply) bool {
		if (r.typ != '$' && r.typ != '=') || !strings.Contains(r.str, "# Keyspace") {
			return false
		}
		for _, l := range strings.Split(r.str, "\n") {
			if strings.HasPrefix(l, "db") && !strings.HasPrefix(l, fmt.Sprintf("db%d:", db)) {
				return false
			}
		}
		return true
	}}
}

// isoClientListOwn is CLIENT LIST as a pinned tenant must see it: only
// connections in its DB (its own upstream connections).
func isoClientListOwn(db int) isoMatch {
	return isoMatch{desc: fmt.Sprintf("CLIENT LIST with db=%d lines only", db), ok: func(r isoReply) bool {
		if r.typ != '$' && r.typ != '=' {
			return false
		}
		body := strings.TrimPrefix(r.str, "txt:")
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
			if !strings.Contains(l, fmt.Sprintf(" db=%d ", db)) {
				return false
			}
			n++
		}
		return n > 0
	}}
}

// isoConfirm is a subscription confirmation: an array in RESP2, a push in
// RESP3. A nil channel is written as "".
func isoConfirm(kind, ch string, count int) isoMatch {
	return isoMatch{desc: fmt.Sprintf("%s %q %d", kind, ch, count), ok: func(r isoReply) bool {
		return (r.typ == '*' || r.typ == '>') && len(r.elems) == 3 && r.elems[0].str == kind &&
			r.elems[1].str == ch && r.elems[2].str == strconv.Itoa(count)
	}}
}

// isoUnsubs reads n unsubscribe confirmations of any order of channels and
// checks the names and the falling counts.
func isoUnsubs(t *testing.T, c *isoConn, kind string, chans ...string) {
	t.Helper()
	left := map[string]bool{}
	for _, ch := range chans {
		left[ch] = true
	}
	for i := range chans {
		r := c.read()
		if (r.typ != '*' && r.typ != '>') || len(r.elems) != 3 || r.elems[0].str != kind || !left[r.elems[1].str] ||
			r.elems[2].str != strconv.Itoa(len(chans)-1-i) {
			t.Fatalf("%s confirmation %d: got %s", kind, i, r)
		}
		delete(left, r.elems[1].str)
	}
}

var isoAnyError = isoMatch{desc: "an error", ok: func(r isoReply) bool { return r.isErr() }}

// hello3 switches a raw session to RESP3.
func hello3(t *testing.T, c *isoConn) {
	t.Helper()
	if r := c.do("HELLO", "3"); r.typ != '%' {
		t.Fatalf("HELLO 3: %s", r)
	}
}

func TestReplyOrderUnsubscribeWithoutArguments(t *testing.T) {
	e := startIsoEnv(t)
	for _, proto := range []int{2, 3} {
		for _, k := range []struct{ sub, unsub string }{
			{"subscribe", "unsubscribe"}, {"psubscribe", "punsubscribe"}, {"ssubscribe", "sunsubscribe"},
		} {
			t.Run(fmt.Sprintf("RESP%d %s", proto, k.unsub), func(t *testing.T) {
				a := e.dial(t, "alice").with(t)
				if proto == 3 {
					hello3(t, a)
				}
				a.write([]string{strings.ToUpper(k.sub), "a", "b"}, []string{strings.ToUpper(k.unsub)},
					[]string{"INFO", "keyspace"}, []string{"CLIENT", "LIST"}, []string{"CONFIG", "GET", "x"},
					[]string{"GET", "shared"}, []string{k.unsub}, []string{"GET", "shared"})
				isoConfirm(k.sub, "a", 1).check(t, "first confirmation", a.read())
				isoConfirm(k.sub, "b", 2).check(t, "second confirmation", a.read())
				isoUnsubs(t, a, k.unsub, "a", "b")
				isoInfoOwn(isoDBAlice).check(t, "INFO after "+k.unsub, a.read())
				isoClientListOwn(isoDBAlice).check(t, "CLIENT LIST after "+k.unsub, a.read())
				isoAnyError.check(t, "CONFIG GET (refused)", a.read())
				isoBulk(isoAliceValue).check(t, "GET", a.read())
				// With nothing subscribed, one confirmation with no name.
				r := a.read()
				if (r.typ != '*' && r.typ != '>') || len(r.elems) != 3 || r.elems[0].str != k.unsub || !r.elems[1].null || r.elems[2].str != "0" {
					t.Fatalf("%s with nothing subscribed: %s", k.unsub, r)
				}
				isoBulk(isoAliceValue).check(t, "last GET", a.read())
			})
		}
	}
}

func TestReplyOrderSubscribeThenReset(t *testing.T) {
	e := startIsoEnv(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			a := e.dial(t, "alice").with(t)
			if proto == 3 {
				hello3(t, a)
			}
			a.do("DEL", "msglist")
			a.write([]string{"SUBSCRIBE", "a", "b"}, []string{"RESET"},
				[]string{"RPUSH", "msglist", "message", "x", "y"}, []string{"LRANGE", "msglist", "0", "-1"},
				[]string{"INFO", "keyspace"}, []string{"GET", "shared"}, []string{"CLIENT", "LIST"})
			isoConfirm("subscribe", "a", 1).check(t, "first confirmation", a.read())
			isoConfirm("subscribe", "b", 2).check(t, "second confirmation", a.read())
			isoStatus("RESET").check(t, "RESET", a.read())
			isoInt(3).check(t, "RPUSH", a.read())
			if r := a.read(); r.typ != '*' || strings.Join(r.strs(), " ") != "message x y" {
				t.Fatalf("LRANGE of a list that looks like a message: %s", r)
			}
			isoInfoOwn(isoDBAlice).check(t, "INFO", a.read())
			isoBulk(isoAliceValue).check(t, "GET", a.read())
			isoClientListOwn(isoDBAlice).check(t, "CLIENT LIST", a.read())
		})
	}
}

// An upstream ACL user without channel permissions (Redis 7's default for
// new users) answers a multi-channel SUBSCRIBE with one error.
func TestReplyOrderSubscribeRefusedByUpstreamACL(t *testing.T) {
	t.Setenv("ACL_ALICE", "alice-acl-secret-0123456789")
	t.Setenv("ACL_CAROL", "carol-acl-secret-0123456789")
	t.Setenv("ACL_PROXY_PW", "proxy-acl-pw-0123456789")
	srv := redistest.Start(t, "--requirepass", isoRedisPass)
	d := isoDialRaw(t, srv.Addr)
	isoStatus("OK").check(t, "direct AUTH", d.do("AUTH", isoRedisPass))
	for _, args := range [][]string{
		{"ACL", "SETUSER", "proxy", "on", ">proxy-acl-pw-0123456789", "~*", "+@all", "resetchannels"},
		{"SELECT", "4"}, {"SET", "carol:k", "carol-value"},
		{"SELECT", "3"}, {"SET", "shared", isoAliceValue},
	} {
		isoStatus("OK").check(t, strings.Join(args, " "), d.do(args...))
	}
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  shared: {address: %s, auth: {mode: acl, username: proxy, password_env: ACL_PROXY_PW}}
tenants:
  - {name: alice, secret_env: ACL_ALICE, upstream: shared, db: 3, role: full}
  - {name: carol, secret_env: ACL_CAROL, upstream: shared, db: 4, role: full}
`, addr, srv.Addr), addr)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			a := isoDialRaw(t, addr)
			a.forbid = isoLeakMarkers
			isoStatus("OK").check(t, "AUTH", a.do("AUTH", "alice", "alice-acl-secret-0123456789"))
			if proto == 3 {
				hello3(t, a)
			}
			a.write([]string{"SUBSCRIBE", "a", "b"}, []string{"INFO", "keyspace"}, []string{"PSUBSCRIBE", "p*", "q*"},
				[]string{"CLIENT", "LIST"}, []string{"GET", "shared"}, []string{"UNSUBSCRIBE"}, []string{"GET", "shared"})
			isoError("NOPERM").check(t, "SUBSCRIBE a b", a.read())
			isoInfoOwn(3).check(t, "INFO", a.read())
			isoError("NOPERM").check(t, "PSUBSCRIBE p* q*", a.read())
			isoClientListOwn(3).check(t, "CLIENT LIST", a.read())
			isoBulk(isoAliceValue).check(t, "GET", a.read())
			isoConfirm("unsubscribe", "", 0).check(t, "UNSUBSCRIBE with nothing subscribed", a.read())
			isoBulk(isoAliceValue).check(t, "last GET", a.read())
		})
	}
}
