package proxy

import (
	"net"
	"sync"
	"time"
)

// throttle counts failed logins by (source, claimed tenant), so guessing a
// tenant's secret costs time while a misconfigured client next door costs
// the other tenants nothing:
//
//   - AUTH <tenant> <secret> (and HELLO … AUTH) counts against (source,
//     tenant). Once that key has used up its failures for the window, logins
//     claiming that tenant from that source are refused without looking at
//     the secret; other tenants' logins are not affected.
//   - A login that names no configured tenant (AUTH <secret>, a token, user
//     "default") counts against (source, ""). Such a login names no tenant
//     until its secret has been checked, so it is slowed down rather than
//     refused: once the key is used up, these logins are checked one at a
//     time, one per window/max (reserve), so a guesser gets no more tries
//     than before while a correct secret still gets in.
//
// A source is an IPv4 address or an IPv6 /64 (one host commonly holds a
// whole /64). Memory is bounded: at most maxEntries keys are kept, expired
// keys are swept, and when every key is live a random one is dropped.
type throttle struct {
	mu         sync.Mutex
	max        int
	window     time.Duration
	maxEntries int
	now        func() time.Time
	hits       map[throttleKey]*throttleEntry
	swept      time.Time
}

type throttleKey struct {
	src    string
	tenant string // "" for a login that named no tenant
}

type throttleEntry struct {
	count int
	until time.Time // end of the window that began with the first failure
	next  time.Time // the next free slot for a check once count >= max
}

// defaultThrottleEntries bounds the throttle's memory (about 100 bytes a
// key, so a few MB at most).
const defaultThrottleEntries = 1 << 16

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, maxEntries: defaultThrottleEntries,
		now: time.Now, hits: make(map[throttleKey]*throttleEntry)}
}

// sourceOf maps a client address to its throttling source.
func sourceOf(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// configure applies new limits (a reload); counts so far are kept.
func (t *throttle) configure(max int, window time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max, t.window = max, window
}

// offLocked reports whether the throttle is switched off; mu is held.
func (t *throttle) offLocked() bool { return t.max <= 0 }

// fail records one failed login.
func (t *throttle) fail(addr, tenant string) {
	if t == nil {
		return
	}
	k := throttleKey{sourceOf(addr), tenant}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.offLocked() {
		return
	}
	e := t.hits[k]
	if e == nil || !now.Before(e.until) {
		if e == nil {
			t.makeRoom(now)
		}
		e = &throttleEntry{until: now.Add(t.window)}
		t.hits[k] = e
	}
	e.count++
	if e.count > t.max {
		// A failure past the budget (a check in the slow lane): the window
		// slides, so a guesser stays at max per window for good.
		e.until = now.Add(t.window)
	}
}

// makeRoom keeps the map under maxEntries: expired keys go first (at most
// once per window/16, so a flood of failures does not sweep on every one);
// if every key is live, one random key goes (map order is random), which
// only helps an attacker who already holds many sources.
func (t *throttle) makeRoom(now time.Time) {
	if len(t.hits) < t.maxEntries {
		return
	}
	if now.Sub(t.swept) > t.window/16 {
		t.sweep(now)
		t.swept = now
	}
	for k := range t.hits {
		if len(t.hits) < t.maxEntries {
			return
		}
		delete(t.hits, k)
	}
}

// blocked reports whether (addr, tenant) has used up its failures.
func (t *throttle) blocked(addr, tenant string) bool {
	if t == nil {
		return false
	}
	k := throttleKey{sourceOf(addr), tenant}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.offLocked() {
		return false
	}
	e := t.hits[k]
	return e != nil && e.count >= t.max && t.now().Before(e.until)
}

// reserve is for a login that names no tenant: it returns how long the
// login must wait before its secret is checked (0 while the source has
// failures left), or false when that wait would exceed maxWait (the
// client's remaining login time); the slot is then not taken.
func (t *throttle) reserve(addr string, maxWait time.Duration) (time.Duration, bool) {
	if t == nil {
		return 0, true
	}
	k := throttleKey{sourceOf(addr), ""}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.offLocked() {
		return 0, true
	}
	e := t.hits[k]
	if e == nil || e.count < t.max || !now.Before(e.until) {
		return 0, true
	}
	slot := now
	if e.next.After(now) {
		slot = e.next
	}
	wait := slot.Sub(now)
	if wait > maxWait {
		return 0, false
	}
	e.next = slot.Add(t.window / time.Duration(t.max))
	return wait, true
}

func (t *throttle) sweep(now time.Time) {
	for k, e := range t.hits {
		if !now.Before(e.until) {
			delete(t.hits, k)
		}
	}
}
