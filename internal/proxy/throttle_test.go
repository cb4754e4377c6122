package proxy

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottleCountsBySourceAndClaimedTenant(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if th.blocked("10.0.0.1:5000", "alice") {
			t.Fatalf("blocked after %d failures", i)
		}
		th.fail(fmt.Sprintf("10.0.0.1:%d", 4000+i), "alice")
	}
	for _, tc := range []struct {
		desc, addr, tenant string
		want               bool
	}{
		{"same source, same tenant, any port", "10.0.0.1:9999", "alice", true},
		{"same source, other tenant", "10.0.0.1:9999", "bob", false},
		{"same source, no claimed tenant", "10.0.0.1:9999", "", false},
		{"other source, same tenant", "10.0.0.2:1", "alice", false},
	} {
		if got := th.blocked(tc.addr, tc.tenant); got != tc.want {
			t.Errorf("%s: blocked = %v, want %v", tc.desc, got, tc.want)
		}
	}
	now = now.Add(61 * time.Second)
	if th.blocked("10.0.0.1:1", "alice") {
		t.Fatal("still blocked after the window")
	}
	if (*throttle)(nil).blocked("x", "") || newThrottle(0, time.Minute).blocked("x", "") {
		t.Fatal("a disabled throttle blocks")
	}
}

func TestThrottleSlowLaneForLoginsWithoutTenant(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(4, time.Minute) // one check per 15 s once used up
	th.now = func() time.Time { return now }
	if w, ok := th.reserve("10.0.0.1:1", time.Second); !ok || w != 0 {
		t.Fatalf("reserve before failures = %v, %v", w, ok)
	}
	for i := 0; i < 4; i++ {
		th.fail("10.0.0.1:1", "")
	}
	if th.blocked("10.0.0.1:1", "alice") {
		t.Fatal("failures without a tenant block a named tenant")
	}
	w, ok := th.reserve("10.0.0.1:2", time.Minute)
	if !ok || w != 0 {
		t.Fatalf("first slot = %v, %v; want at once", w, ok)
	}
	if w, ok = th.reserve("10.0.0.1:3", time.Minute); !ok || w != 15*time.Second {
		t.Fatalf("second slot = %v, %v; want 15s", w, ok)
	}
	if _, ok = th.reserve("10.0.0.1:4", 10*time.Second); ok {
		t.Fatal("a slot beyond maxWait was given")
	}
	if w, ok = th.reserve("10.0.0.1:5", time.Minute); !ok || w != 30*time.Second {
		t.Fatalf("third slot = %v, %v; want 30s (the refused one took none)", w, ok)
	}
	if w, ok = th.reserve("10.0.0.2:1", time.Second); !ok || w != 0 {
		t.Fatalf("another source waits: %v, %v", w, ok)
	}
	// A failure in the slow lane slides the window: a guesser stays slow.
	now = now.Add(50 * time.Second)
	th.fail("10.0.0.1:1", "")
	now = now.Add(30 * time.Second) // past the first window's end
	th.reserve("10.0.0.1:6", time.Minute)
	if w, ok = th.reserve("10.0.0.1:7", time.Minute); !ok || w != 15*time.Second {
		t.Fatalf("after the first window: slot = %v, %v; want 15s (the window slid)", w, ok)
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	th := newThrottle(3, time.Minute)
	th.maxEntries = 100
	for i := 0; i < 10000; i++ {
		th.fail(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255), "alice")
	}
	if n := th.len(); n > 100 {
		t.Fatalf("%d keys held, bound 100", n)
	}
}

func TestThrottleSource(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"10.0.0.1:5", "10.0.0.1"},
		{"[::ffff:10.0.0.1]:5", "10.0.0.1"},
		{"[2001:db8:1:2:aaaa::1]:5", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:7", "2001:db8:1:2::/64"},
		{"pipe", "pipe"},
	} {
		if got := sourceOf(tc.addr); got != tc.want {
			t.Errorf("sourceOf(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestThrottleReconfigure(t *testing.T) {
	th := newThrottle(2, time.Minute)
	th.fail("10.0.0.1:1", "alice")
	th.fail("10.0.0.1:1", "alice")
	if !th.blocked("10.0.0.1:1", "alice") {
		t.Fatal("not blocked")
	}
	th.configure(-1, time.Minute) // a reload switches it off
	if th.blocked("10.0.0.1:1", "alice") {
		t.Fatal("blocked after the throttle was switched off")
	}
	th.configure(5, time.Minute) // and on again, with a larger budget
	if th.blocked("10.0.0.1:1", "alice") {
		t.Fatal("blocked at 2 failures of 5")
	}
}
