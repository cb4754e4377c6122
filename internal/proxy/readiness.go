package proxy

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// waiter blocks until a socket is readable without holding any buffer: the
// netpoller parks the goroutine and a one-byte MSG_PEEK tells data from EOF.
// This is what lets an idle pass-through session own nothing but its sockets.
type waiter struct {
	rc    syscall.RawConn
	avail int
	err   error
	peek  [1]byte
	fn    func(fd uintptr) bool // bound once so waiting does not allocate
}

func newWaiter(rc syscall.RawConn) *waiter {
	w := &waiter{rc: rc}
	w.fn = w.check
	return w
}

func (w *waiter) check(fd uintptr) bool {
	for {
		n, _, err := unix.Recvfrom(int(fd), w.peek[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return false // not readable yet: park in the netpoller
		case err != nil:
			w.avail, w.err = 0, err
		case n == 0:
			w.avail, w.err = 0, nil // orderly EOF
		default:
			q, qerr := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
			if qerr != nil || q < 1 {
				q = 1
			}
			w.avail, w.err = q, nil
		}
		return true
	}
}

// wait returns how many bytes are queued (0 at EOF).
func (w *waiter) wait() (int, error) {
	if err := w.rc.Read(w.fn); err != nil {
		return 0, err
	}
	return w.avail, w.err
}
