package proxy

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// recordConn stands in for the client socket and keeps what is written.
type recordConn struct {
	discardConn
	b *bytes.Buffer
}

func (c recordConn) Write(p []byte) (int, error) { return c.b.Write(p) }

// newRecordingInspector is a pinned tenant's inspector whose client
// writes are recorded.
func newRecordingInspector(t *testing.T) (*inspector, *bytes.Buffer) {
	in := newBenchInspector(t, "full", 3)
	out := &bytes.Buffer{}
	in.cn.c = recordConn{b: out}
	in.prefix = []byte("t:a:")
	return in, out
}

// send decides the commands of wire, as the client loop would.
func send(t *testing.T, in *inspector, wire string) {
	t.Helper()
	data := []byte(wire)
	for len(data) > 0 {
		n, err := resp.ParseCommand(data, &in.cmd, &in.lim)
		if err != nil {
			t.Fatalf("parse %q: %v", data, err)
		}
		in.decide(data[:n], in.cmd.Args)
		data = data[n:]
	}
	in.upOut = in.upOut[:0]
}

// A reply that fits no request is never forwarded: the session ends with
// an error, whatever came before was answered in order.
func TestRepliesThatFitNoRequestEndTheSession(t *testing.T) {
	for _, tc := range []struct{ desc, cmds, replies, before string }{
		{desc: "INFO answered +QUEUED outside a transaction", cmds: "GET k\r\nINFO keyspace\r\n",
			replies: "$1\r\nv\r\n+QUEUED\r\n$10\r\n# Keyspace\r\n", before: "$1\r\nv\r\n"},
		{desc: "CLIENT LIST answered with an array", cmds: "CLIENT LIST\r\n", replies: "*1\r\n$2\r\nid\r\n"},
		{desc: "a reply with nothing waiting", cmds: "GET k\r\n", replies: "$1\r\nv\r\n$5\r\nextra\r\n", before: "$1\r\nv\r\n"},
		{desc: "a confirmation for another name", cmds: "SUBSCRIBE a b\r\n",
			replies: "*3\r\n$9\r\nsubscribe\r\n$5\r\nt:a:a\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nt:a:c\r\n:2\r\n",
			before:  "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"},
		{desc: "a confirmation of another kind", cmds: "PSUBSCRIBE a\r\n",
			replies: "*3\r\n$9\r\nsubscribe\r\n$5\r\nt:a:a\r\n:1\r\n"},
		{desc: "a confirmation with no subscription change waiting", cmds: "GET k\r\n",
			replies: ">3\r\n$11\r\nunsubscribe\r\n$5\r\nt:a:a\r\n:0\r\n"},
		{desc: "a subscription change answered with a string", cmds: "SUBSCRIBE a\r\n", replies: "+OK\r\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in, out := newRecordingInspector(t)
			send(t, in, tc.cmds)
			st := newUpState(in.lim, nil)
			in.mu.Lock()
			err := in.consume(st, []byte(tc.replies))
			in.mu.Unlock()
			var d *errDesync
			if !errors.As(err, &d) {
				t.Fatalf("consume: %v, want a desync", err)
			}
			if got := out.String(); got != tc.before+string(replyDesync) {
				t.Fatalf("client got %q, want %q then the desync error", got, tc.before)
			}
		})
	}
}

// Completion follows the replies: an error answers a whole subscription
// change, UNSUBSCRIBE without names ends with the last subscription of its
// kind, RESET's reply forgets the subscriptions confirmed before it.
func TestSubscriptionChangesCompleteOnWhatRedisSends(t *testing.T) {
	conf := func(kind, ch string, n int) string {
		return "*3\r\n$" + strconv.Itoa(len(kind)) + "\r\n" + kind + "\r\n$" + strconv.Itoa(len(ch)) + "\r\n" + ch + "\r\n:" + strconv.Itoa(n) + "\r\n"
	}
	for _, tc := range []struct{ desc, cmds, replies, want string }{
		{desc: "one error for SUBSCRIBE a b", cmds: "SUBSCRIBE a b\r\nGET k\r\n",
			replies: "-NOPERM no channel permission\r\n$1\r\nv\r\n", want: "-NOPERM no channel permission\r\n$1\r\nv\r\n"},
		{desc: "UNSUBSCRIBE without names", cmds: "SUBSCRIBE a b\r\nUNSUBSCRIBE\r\nINFO keyspace\r\n",
			replies: conf("subscribe", "t:a:a", 1) + conf("subscribe", "t:a:b", 2) + conf("unsubscribe", "t:a:b", 1) +
				conf("unsubscribe", "t:a:a", 0) + "$26\r\n# Keyspace\r\ndb3:x\r\ndb4:y\r\n\r\n",
			want: conf("subscribe", "a", 1) + conf("subscribe", "b", 2) + conf("unsubscribe", "b", 1) +
				conf("unsubscribe", "a", 0) + "$19\r\n# Keyspace\r\ndb3:x\r\n\r\n"},
		{desc: "RESET after SUBSCRIBE", cmds: "SUBSCRIBE a\r\nRESET\r\nLRANGE l 0 -1\r\n",
			replies: conf("subscribe", "t:a:a", 1) + "+RESET\r\n+OK\r\n*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\ny\r\n",
			want:    conf("subscribe", "a", 1) + "+RESET\r\n*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\ny\r\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in, out := newRecordingInspector(t)
			send(t, in, tc.cmds)
			st := newUpState(in.lim, nil)
			in.mu.Lock()
			err := in.consume(st, []byte(tc.replies))
			n := in.q.len()
			in.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want || n != 0 {
				t.Fatalf("client got %q (%d requests left), want %q", out.String(), n, tc.want)
			}
		})
	}
}

// A request kept whole grows towards its declared size, within the
// session's limit and the process's budget, and gives its charge back.
func TestRequestBufferGrowthIsBounded(t *testing.T) {
	pool := newBufPool(64 << 10)
	mem := &memBudget{}
	mem.limit.Store(64 << 20)
	r := newSockReader(nil, pool, nil)
	r.limitRequests(mem, 48<<20)
	// fill reads n bytes into the buffer, as a read would.
	fill := func(n int) {
		for n > 0 {
			if err := r.room(); err != nil {
				t.Fatal(err)
			}
			k := min(n, cap(r.buf)-len(r.buf))
			r.buf = r.buf[:len(r.buf)+k]
			n -= k
		}
	}
	r.want = 40 << 20
	fill(1 << 20)
	if c := cap(r.buf); c >= 4<<20 {
		t.Fatalf("a header and 1 MiB made a %d-byte buffer", c)
	}
	fill(9 << 20) // past an eighth: the declared size at once
	if c := cap(r.buf); c != 40<<20 {
		t.Fatalf("cap %d, want the declared %d", c, 40<<20)
	}
	if got := mem.used.Load(); got != 40<<20 {
		t.Fatalf("charged %d, want %d", got, 40<<20)
	}
	fill(40<<20 - 10<<20)
	if c := cap(r.buf); c != 40<<20 {
		t.Fatalf("grew past the declared size: %d", c)
	}
	// A second request that does not fit the budget.
	r2 := newSockReader(nil, pool, nil)
	r2.limitRequests(mem, 48<<20)
	r2.want = 40 << 20
	r2.buf = make([]byte, 6<<20)
	if err := r2.room(); !errors.Is(err, errRequestBudget) {
		t.Fatalf("second request: %v, want the budget error", err)
	}
	// One over the session's limit.
	r3 := newSockReader(nil, pool, nil)
	r3.limitRequests(mem, 48<<20)
	r3.want = 50 << 20
	r3.buf = make([]byte, 7<<20)
	if err := r3.room(); !errors.Is(err, errQueryBufferLimit) {
		t.Fatalf("oversized request: %v, want the limit error", err)
	}
	r.drop()
	if got := mem.used.Load(); got != 0 {
		t.Fatalf("%d bytes still charged after drop", got)
	}
}

// A reply the relay must hold whole (here a RESP3 push of a message the
// tenant published) is charged to the budget past collectFree; one that
// does not fit ends the session with an error instead of growing.
func TestCollectedRepliesAreCharged(t *testing.T) {
	in, out := newRecordingInspector(t)
	mem := &memBudget{}
	mem.limit.Store(4 << 20)
	st := newUpState(in.lim, mem)
	payload := strings.Repeat("x", 3<<20)
	push := ">3\r\n$7\r\nmessage\r\n$5\r\nt:a:c\r\n$" + strconv.Itoa(len(payload)) + "\r\n" + payload + "\r\n"
	in.mu.Lock()
	err := in.consume(st, []byte(push))
	in.mu.Unlock()
	if err != nil {
		t.Fatalf("a 3 MiB message within a 4 MiB budget: %v", err)
	}
	if !strings.HasSuffix(out.String(), payload+"\r\n") || mem.used.Load() != 0 {
		t.Fatalf("message not passed on, or its charge (%d) kept", mem.used.Load())
	}
	out.Reset()
	payload = strings.Repeat("y", 5<<20)
	push = ">3\r\n$7\r\nmessage\r\n$5\r\nt:a:c\r\n$" + strconv.Itoa(len(payload)) + "\r\n" + payload + "\r\n"
	in.mu.Lock()
	err = in.consume(st, []byte(push))
	in.mu.Unlock()
	if !errors.Is(err, errRequestBudget) || out.String() != string(replyTooLargeMsg) {
		t.Fatalf("a 5 MiB message over a 4 MiB budget: %v, client got %.80q", err, out.String())
	}
	st.acc = nil
	st.release()
	if mem.used.Load() != 0 {
		t.Fatalf("%d bytes still charged", mem.used.Load())
	}
}
