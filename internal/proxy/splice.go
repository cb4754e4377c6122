package proxy

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// We splice ourselves instead of letting io.Copy do it: io.Copy between two
// *net.TCPConn parks inside splice(2) holding a kernel pipe for the whole
// life of the session (two pipes, four descriptors per idle session). Here a
// pipe is taken from a small pool only once data is already queued on the
// socket, and given back as soon as it is drained.

// pipePoolSize bounds how many idle pipes we keep open between transfers.
const pipePoolSize = 32

// pipeSize is the capacity we ask for: a bigger pipe moves more per pair
// of splices. The kernel may give less (pipe-max-size); we use what it gives.
const pipeSize = 1 << 20

type kpipe struct{ r, w, size int }

var pipePool = make(chan *kpipe, pipePoolSize)

// SpliceBytes counts bytes that went through the kernel by splice, so tests
// and metrics can show that large transfers really take that path.
var SpliceBytes atomic.Int64

func getPipe() (*kpipe, error) {
	select {
	case p := <-pipePool:
		return p, nil
	default:
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	p := &kpipe{r: fds[0], w: fds[1], size: 64 * 1024}
	if _, err := unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, pipeSize); err == nil {
		if sz, err := unix.FcntlInt(uintptr(p.w), unix.F_GETPIPE_SZ, 0); err == nil && sz > 0 {
			p.size = sz
		}
	}
	return p, nil
}

// putPipe returns an empty pipe to the pool; a pipe that may still hold
// bytes (after an error) is closed instead, so no stale bytes can leak into
// another session.
func putPipe(p *kpipe, empty bool) {
	if empty {
		select {
		case pipePool <- p:
			return
		default:
		}
	}
	unix.Close(p.r)
	unix.Close(p.w)
}

// spliceFrom moves up to n bytes already queued on the socket src to dst
// through a pooled pipe. It runs inside src's poller callback, so it uses
// the descriptor directly (a nested RawRead would deadlock on its lock).
// It returns the bytes moved; 0 with a nil error means nothing could be
// moved (EOF, or the queue emptied), which the caller's next read sorts out.
func spliceFrom(src int, dst syscall.RawConn, n int) (int, error) {
	p, err := getPipe()
	if err != nil {
		return 0, err
	}
	n = min(n, p.size)
	var in int
	for {
		m, err := unix.Splice(src, nil, p.w, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || m <= 0 {
			putPipe(p, true)
			if errors.Is(err, unix.EAGAIN) {
				err = nil
			}
			return 0, err
		}
		in = int(m)
		break
	}
	left := in
	for left > 0 {
		var out int
		var werr error
		err := dst.Write(func(fd uintptr) bool {
			m, e := unix.Splice(p.r, nil, int(fd), nil, left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			out, werr = int(m), e
			return !errors.Is(e, unix.EAGAIN)
		})
		if err == nil && errors.Is(werr, unix.EINTR) {
			continue
		}
		if err == nil {
			err = werr
		}
		if err != nil {
			putPipe(p, false)
			return in - left, err
		}
		left -= out
	}
	putPipe(p, true)
	SpliceBytes.Add(int64(in))
	return in, nil
}
