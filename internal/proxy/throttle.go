package proxy

import (
	"net"
	"sync"
	"time"
)

// throttle counts failed logins per source address. An address with too
// many failures in a window is refused at accept until the window ends, so
// guessing secrets costs an attacker time, and honest clients elsewhere are
// untouched.
type throttle struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	hits   map[string]*throttleEntry
	// swept is when blockedAddr last dropped expired entries, so that the
	// map empties again once failures stop and accepts take the fast path.
	swept time.Time
}

type throttleEntry struct {
	count int
	until time.Time
}

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, now: time.Now, hits: make(map[string]*throttleEntry)}
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func (t *throttle) fail(addr string) {
	if t == nil || t.max <= 0 {
		return
	}
	h := hostOf(addr)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.hits[h]
	if e == nil || now.After(e.until) {
		if len(t.hits) > 100000 {
			t.sweep(now)
		}
		e = &throttleEntry{until: now.Add(t.window)}
		t.hits[h] = e
	}
	e.count++
}

// blocked reports whether addr has used up its failures for this window.
func (t *throttle) blocked(addr string) bool {
	if t == nil || t.max <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blockedLocked(addr)
}

// blockedAddr is blocked(a.String()) for the accept loop: it formats the
// address only when some source has failed logins on record.
func (t *throttle) blockedAddr(a net.Addr) bool {
	if t == nil || t.max <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.hits) == 0 {
		return false
	}
	if now := t.now(); now.Sub(t.swept) > t.window {
		t.sweep(now) // expired entries count for nothing (see fail)
		t.swept = now
	}
	return t.blockedLocked(a.String())
}

func (t *throttle) blockedLocked(addr string) bool {
	e := t.hits[hostOf(addr)]
	return e != nil && e.count >= t.max && t.now().Before(e.until)
}

func (t *throttle) sweep(now time.Time) {
	for h, e := range t.hits {
		if now.After(e.until) {
			delete(t.hits, h)
		}
	}
}
