package proxy

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// admission bounds the connections that have not logged in yet, in all
// and per source, so idle or slow unauthenticated sockets cannot use up the
// gateway's descriptors. When a bound is reached, an idle connection (one
// that has sent nothing, see idle) makes room for the newcomer, the oldest
// first:
//
//   - at the per-source bound, while the table is at most half full, the
//     newcomer gets in and nobody is cut off (a client pool connecting at
//     once, on a host busy enough that its logins lag); past half, an idle
//     one of the same source makes room, else the newcomer is refused with
//     redis-server's max-clients error;
//   - at the total bound, an idle one of the source holding the most, else
//     of another source; if none is idle, the newcomer is refused.
//
// So idle sockets cannot keep anyone from logging in, from another source
// or from their own, and an honest login in progress is never cut short.
// Sockets that send a little and stall count as busy until auth_timeout
// closes them; the per-source bound keeps one source from holding more
// than its share of the total meanwhile.
type admission struct {
	mu    sync.Mutex
	total int
	bySrc map[string][]*waiting // oldest first
}

// waiting is one connection still logging in.
type waiting struct {
	c   net.Conn
	src string
	at  time.Time
	in  bool // still counted
	// active: the login has read bytes from the client (set by the login
	// goroutine); bytes still in the kernel's queue count too (see idle).
	active atomic.Bool
}

// idleGrace is how long a new connection may take to send its first
// bytes before it counts as idle: a client writes its login right after
// connecting, but a pool connecting all at once on a busy host may take a
// moment, and it must not be cut off for that.
const idleGrace = 50 * time.Millisecond

// idle reports whether the client has sent nothing at all yet, in more
// than idleGrace.
func (w *waiting) idle(now time.Time) bool {
	return now.Sub(w.at) > idleGrace && !w.active.Load() && !hasPendingInput(w.c)
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
	now := time.Now()
	w := &waiting{c: c, src: sourceOf(c.RemoteAddr().String()), at: now, in: true}
	a.mu.Lock()
	defer a.mu.Unlock()
	var evict []net.Conn
	if lim.perAddr > 0 {
		for len(a.bySrc[w.src]) >= lim.perAddr {
			if lim.unauth <= 0 || a.total < lim.unauth/2 {
				// Half the table is free: let a pool in without cutting
				// off its own connections that have not spoken yet (on a
				// loaded host a client can take longer than idleGrace to
				// send its login).
				break
			}
			if i := a.oldestIdle(w.src, now); i >= 0 {
				evict = append(evict, a.drop(w.src, i))
				continue
			}
			return nil, evict
		}
	}
	if lim.unauth > 0 {
		for a.total >= lim.unauth {
			src, i := a.someIdle(now)
			if i < 0 {
				return nil, evict
			}
			evict = append(evict, a.drop(src, i))
		}
	}
	a.bySrc[w.src] = append(a.bySrc[w.src], w)
	a.total++
	return w, evict
}

// oldestIdle is the index of src's oldest idle connection, or -1.
func (a *admission) oldestIdle(src string, now time.Time) int {
	return a.idleIn(src, now, len(a.bySrc[src]))
}

// idleIn is the index of the oldest idle connection among src's first
// limit ones, or -1.
func (a *admission) idleIn(src string, now time.Time, limit int) int {
	for i, w := range a.bySrc[src] {
		if i >= limit {
			break
		}
		if w.idle(now) {
			return i
		}
	}
	return -1
}

// maxIdleChecks bounds the sockets asked for pending input when the total
// bound is reached, so a full table does not cost an accept thousands of
// system calls.
const maxIdleChecks = 64

// someIdle finds an idle connection to make room at the total bound: the
// oldest idle one of the source holding the most, else the oldest of other
// sources (map order, which is random), within maxIdleChecks; -1 if none.
func (a *admission) someIdle(now time.Time) (string, int) {
	big := a.largestSource()
	if i := a.idleIn(big, now, maxIdleChecks/2); i >= 0 {
		return big, i
	}
	checks := maxIdleChecks / 2
	for src := range a.bySrc {
		if checks == 0 {
			break
		}
		if src == big {
			continue
		}
		checks--
		if a.idleIn(src, now, 1) == 0 {
			return src, 0
		}
	}
	return "", -1
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
