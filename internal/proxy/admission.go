package proxy

import (
	"net"
	"sync"
)

// admission bounds the connections that have not logged in yet, in all
// and per source, so idle or slow unauthenticated sockets cannot use up the
// gateway's descriptors. When a bound is reached the newcomer is still
// let in and the oldest unauthenticated connection makes room for it: of
// its own source at the per-source bound, of the source holding the most
// at the total bound. An honest login takes milliseconds, so it is the
// idle sockets that go, and an idle flood from one source cannot keep
// anyone else from logging in.
type admission struct {
	mu    sync.Mutex
	total int
	bySrc map[string][]*waiting // oldest first
}

// waiting is one connection still logging in.
type waiting struct {
	c   net.Conn
	src string
	in  bool // still counted
}

func newAdmission() *admission {
	return &admission{bySrc: make(map[string][]*waiting)}
}

// admit counts c as logging in and returns the connections to close to
// make room (closed by the caller, outside the lock).
func (a *admission) admit(c net.Conn, lim connLimits) (*waiting, []net.Conn) {
	w := &waiting{c: c, src: sourceOf(c.RemoteAddr().String()), in: true}
	a.mu.Lock()
	defer a.mu.Unlock()
	var evict []net.Conn
	if lim.perAddr > 0 {
		for len(a.bySrc[w.src]) >= lim.perAddr {
			evict = append(evict, a.dropOldest(w.src))
		}
	}
	if lim.unauth > 0 {
		for a.total >= lim.unauth {
			evict = append(evict, a.dropOldest(a.largestSource()))
		}
	}
	a.bySrc[w.src] = append(a.bySrc[w.src], w)
	a.total++
	return w, evict
}

// done stops counting w (logged in, or ended); it is safe to call twice.
func (a *admission) done(w *waiting) {
	if w == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !w.in {
		return
	}
	q := a.bySrc[w.src]
	for i, x := range q {
		if x == w {
			a.remove(w.src, i)
			return
		}
	}
}

// count is the number of connections logging in (tests, metrics).
func (a *admission) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

func (a *admission) dropOldest(src string) net.Conn {
	c := a.bySrc[src][0].c
	a.remove(src, 0)
	return c
}

func (a *admission) remove(src string, i int) {
	q := a.bySrc[src]
	q[i].in = false
	copy(q[i:], q[i+1:])
	q[len(q)-1] = nil
	q = q[:len(q)-1]
	if len(q) == 0 {
		delete(a.bySrc, src)
	} else {
		a.bySrc[src] = q
	}
	a.total--
}

// largestSource is the source with the most connections logging in.
func (a *admission) largestSource() string {
	best, n := "", -1
	for src, q := range a.bySrc {
		if len(q) > n {
			best, n = src, len(q)
		}
	}
	return best
}
