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
