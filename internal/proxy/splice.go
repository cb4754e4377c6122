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

// spliceChunk is the most we move through a pipe in one round; it matches
// the default pipe capacity so one splice never blocks on a full pipe.
const spliceChunk = 64 * 1024

type kpipe struct{ r, w int }

var pipePool = make(chan *kpipe, pipePoolSize)

// SpliceBytes counts bytes that went through the kernel by splice, so tests
// and metrics can show that large transfers really take that path.
var SpliceBytes atomic.Int64

// OpenPipes counts kernel pipes currently open (pooled or in use).
var OpenPipes atomic.Int64

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
	OpenPipes.Add(1)
	return &kpipe{r: fds[0], w: fds[1]}, nil
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
	OpenPipes.Add(-1)
}

// spliceN moves up to n bytes already queued on src to dst through a pooled
// pipe. It returns the bytes moved; 0 with a nil error means src reached EOF.
func spliceN(src, dst syscall.RawConn, n int) (int, error) {
	p, err := getPipe()
	if err != nil {
		return 0, err
	}
	if n > spliceChunk {
		n = spliceChunk
	}
	var in int
	var serr error
	rerr := src.Read(func(fd uintptr) bool {
		var m int64
		m, serr = unix.Splice(int(fd), nil, p.w, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		in = int(m)
		return !errors.Is(serr, unix.EAGAIN)
	})
	if rerr == nil {
		rerr = serr
	}
	if rerr != nil || in <= 0 {
		putPipe(p, true)
		if in < 0 {
			in = 0
		}
		return 0, rerr
	}
	left := in
	for left > 0 {
		var out int
		var werr error
		err := dst.Write(func(fd uintptr) bool {
			var m int64
			m, werr = unix.Splice(p.r, nil, int(fd), nil, left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			out = int(m)
			return !errors.Is(werr, unix.EAGAIN)
		})
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
