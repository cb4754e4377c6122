package proxy

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// admission bounds the connections that have not logged in yet, in all
// and per source, so idle or slow unauthenticated sockets cannot use up the
// gateway's descriptors. When a bound is reached, an idle connection (one
// that has sent nothing) makes room for the newcomer, the oldest first:
//
//   - at the per-source bound, an idle one of the same source; if every
//     one of them is busy logging in (a client pool connecting at once),
//     the newcomer is refused with redis-server's max-clients error;
//   - at the total bound, one of the source holding the most, idle if it
//     has one: a flood, idle or slow, makes room with its own sockets.
//
// So idle sockets cannot keep anyone from logging in, from another source
// or from their own, and an honest login in progress is not cut short.
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
	// active: the login has read bytes from the client (set by the login
	// goroutine); bytes still in the kernel's queue count too (see idle).
	active atomic.Bool
}

// idle reports whether the client has sent nothing at all yet.
func (w *waiting) idle() bool {
	return !w.active.Load() && !hasPendingInput(w.c)
}

// hasPendingInput reports whether bytes wait in the socket's receive
// queue (SIOCINQ); a socket it cannot ask is taken as busy.
func hasPendingInput(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	n := 1
	if err := raw.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
			n = v
		}
	}); err != nil {
		return true
	}
	return n > 0
}

func newAdmission() *admission {
	return &admission{bySrc: make(map[string][]*waiting)}
}

// admit counts c as logging in and returns the connections to close to
// make room (closed by the caller, outside the lock); w is nil when c
// must be refused instead.
func (a *admission) admit(c net.Conn, lim connLimits) (*waiting, []net.Conn) {
	w := &waiting{c: c, src: sourceOf(c.RemoteAddr().String()), in: true}
	a.mu.Lock()
	defer a.mu.Unlock()
	var evict []net.Conn
	if lim.perAddr > 0 {
		for len(a.bySrc[w.src]) >= lim.perAddr {
			i := a.oldestIdle(w.src)
			if i < 0 {
				return nil, evict
			}
			evict = append(evict, a.drop(w.src, i))
		}
	}
	if lim.unauth > 0 {
		for a.total >= lim.unauth {
			src := a.largestSource()
			evict = append(evict, a.drop(src, max(a.oldestIdle(src), 0)))
		}
	}
	a.bySrc[w.src] = append(a.bySrc[w.src], w)
	a.total++
	return w, evict
}

// oldestIdle is the index of src's oldest idle connection, or -1.
func (a *admission) oldestIdle(src string) int {
	for i, w := range a.bySrc[src] {
		if w.idle() {
			return i
		}
	}
	return -1
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

func (a *admission) drop(src string, i int) net.Conn {
	c := a.bySrc[src][i].c
	a.remove(src, i)
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
