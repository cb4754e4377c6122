package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

func TestQueueKeepsOrderAcrossGrowth(t *testing.T) {
	var q queue
	next := 0
	for round := 0; round < 5; round++ {
		for i := 0; i < 40; i++ {
			q.push(request{wait: wReply, set: uint8(round), names: make([][]byte, i)})
		}
		for i := 0; i < 25; i++ {
			f := q.front()
			if f == nil {
				t.Fatal("queue empty too early")
			}
			_ = next
			q.pop()
		}
	}
	if q.len() != 5*15 {
		t.Fatalf("len = %d, want %d", q.len(), 5*15)
	}
	prev := -1
	for q.len() > 0 {
		f := q.front()
		if n := int(f.set)*100 + len(f.names); n <= prev {
			t.Fatalf("out of order: %d after %d", n, prev)
		} else {
			prev = n
		}
		q.pop()
	}
}

func TestParseHello(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		args    []string
		proto   int
		auth    bool
		setname string
		bad     string
	}{
		{desc: "bare", args: []string{"HELLO"}},
		{desc: "proto 3", args: []string{"HELLO", "3"}, proto: 3},
		{desc: "auth and setname", args: []string{"hello", "2", "auth", "u", "p", "setname", "n"}, proto: 2, auth: true, setname: "n"},
		{desc: "proto 4", args: []string{"HELLO", "4"}, bad: "-NOPROTO"},
		{desc: "not a number", args: []string{"HELLO", "x"}, bad: "-ERR Protocol version is not an integer"},
		{desc: "auth missing password", args: []string{"HELLO", "3", "AUTH", "u"}, bad: "-ERR Syntax error in HELLO option 'AUTH'"},
		{desc: "unknown option echoed safely", args: []string{"HELLO", "3", "X\r\nY"}, bad: "-ERR Syntax error in HELLO option 'X??Y'"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			args := make([][]byte, len(tc.args))
			for i, a := range tc.args {
				args[i] = []byte(a)
			}
			h, bad := parseHello(args)
			if tc.bad != "" {
				if !strings.HasPrefix(string(bad), tc.bad) {
					t.Fatalf("reply %q, want %q", bad, tc.bad)
				}
				return
			}
			if bad != nil {
				t.Fatalf("unexpected error reply %q", bad)
			}
			if h.hello.Proto != tc.proto || h.hasAuth != tc.auth || string(h.hello.SetName) != tc.setname {
				t.Fatalf("got %+v", h)
			}
		})
	}
}

func TestThrottleRefusesAfterMaxFailuresUntilWindowEnds(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if th.blocked("10.0.0.1:5000") {
			t.Fatalf("blocked after %d failures", i)
		}
		th.fail("10.0.0.1:" + string(rune('0'+i)))
	}
	if !th.blocked("10.0.0.1:9999") {
		t.Fatal("not blocked after 3 failures from the same host")
	}
	if th.blocked("10.0.0.2:1") {
		t.Fatal("another host is blocked")
	}
	now = now.Add(61 * time.Second)
	if th.blocked("10.0.0.1:1") {
		t.Fatal("still blocked after the window")
	}
	if (*throttle)(nil).blocked("x") || newThrottle(0, time.Minute).blocked("x") {
		t.Fatal("a disabled throttle blocks")
	}
}

func TestJitterBounds(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if d := jitter(10 * time.Hour); d > 10*time.Hour || d < 9*time.Hour {
			t.Fatalf("jitter(10h) = %v", d)
		}
		if d := maxAgeJitter(11 * time.Hour); d > 11*time.Hour || d < 10*time.Hour+30*time.Minute {
			t.Fatalf("maxAgeJitter(11h) = %v, want within [10h30m, 11h]", d)
		}
		if d := maxAgeJitter(10 * time.Second); d > 10*time.Second || d < 9500*time.Millisecond {
			t.Fatalf("maxAgeJitter(10s) = %v", d)
		}
	}
}

func TestPrintableNeverBreaksReplies(t *testing.T) {
	got := printable([]byte(strings.Repeat("a\r\n", 40)))
	if strings.ContainsAny(got, "\r\n") || len(got) > 64 {
		t.Fatalf("printable = %q", got)
	}
}

func TestIsPubSubCommand(t *testing.T) {
	for name := range subKinds {
		c := command.ByName(name)
		if c == nil || !isPubSubCommand(c) {
			t.Errorf("%s is not recognised as a subscription command", name)
		}
	}
	for _, name := range []string{"get", "publish", "pubsub|channels", "spublish"} {
		if isPubSubCommand(command.ByName(name)) {
			t.Errorf("%s taken for a subscription command", name)
		}
	}
}

// A read that splits a message leaves its start in the buffer; making room
// for the next read must compact, not allocate a doubled buffer.
func TestSockReaderRoomCompactsInsteadOfGrowing(t *testing.T) {
	r := newSockReader(nil, newBufPool(64<<10), nil)
	allocs := testing.AllocsPerRun(100, func() {
		r.room()
		r.buf = r.buf[:cap(r.buf)]     // a read filled the buffer
		r.Consume(len(r.buf) - 12<<10) // all but a 12 KiB partial message
		r.room()
		if free := cap(r.buf) - len(r.buf); free < 4096 || cap(r.buf) != 64<<10 {
			t.Fatalf("free %d of cap %d", free, cap(r.buf))
		}
		r.Consume(len(r.Bytes()))
		r.release()
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations per split read, want 0", allocs)
	}
}

// A half-sent command left by a client that went quiet moves out of the
// pooled 64 KiB buffer into one of its size, and comes back to a pooled
// buffer, intact, when the client sends the rest.
func TestSockReaderSettleKeepsTailSmall(t *testing.T) {
	pool := newBufPool(64 << 10)
	r := newSockReader(nil, pool, nil)
	r.room()
	r.buf = append(r.buf, "*2\r\n$3\r\nGET\r\n$5\r\nab"...)
	r.Consume(0)
	r.settle()
	if r.pb != nil || cap(r.buf) > 512 || string(r.Bytes()) != "*2\r\n$3\r\nGET\r\n$5\r\nab" {
		t.Fatalf("after settle: pooled=%v cap=%d bytes=%q", r.pb != nil, cap(r.buf), r.Bytes())
	}
	r.room()
	if r.pb == nil || cap(r.buf) != 64<<10 {
		t.Fatalf("next read not into a pooled buffer: cap %d", cap(r.buf))
	}
	r.buf = append(r.buf, "cde\r\n"...)
	if got := string(r.Bytes()); got != "*2\r\n$3\r\nGET\r\n$5\r\nabcde\r\n" {
		t.Fatalf("bytes %q", got)
	}
	// A long tail stays where it is: settle is for small leftovers only.
	r.buf = append(r.buf, strings.Repeat("x", settleMax)...)
	r.settle()
	if r.pb == nil {
		t.Fatal("a tail over settleMax left the pooled buffer")
	}
}
