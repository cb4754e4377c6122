package proxy

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sockReader reads a connection into a growable buffer and hands each
// batch of bytes to a process function.
//
// On a plain TCP socket it works inside the netpoller's callback
// (syscall.RawConn.Read): a parked reader owns no buffer. One is borrowed
// from the pool only when a read returns bytes, and given back whenever it
// is empty, so an idle session holds its socket and its goroutine, nothing
// else.
//
// It always reads until EAGAIN before it parks. Parking right after a
// short read would save a syscall per message, and was tried, but a short
// read only says no more *data* is queued: a FIN (or RST) that arrived in
// the same wake-up shows only on the next read, and no new edge would come
// to wake us for it, so the session would hang (TestPassThroughHalfClose).
//
// Other connections (TLS) are read the ordinary way.
type sockReader struct {
	c    net.Conn
	rc   syscall.RawConn
	bufs *bufPool
	own  []byte // a grown buffer (large message); nil when using the pool's
	pb   *[]byte
	buf  []byte // unconsumed bytes are buf[off:]
	off  int

	// set for process during Run
	fd       int  // the socket, for splice from inside the callback
	lastFull bool // the last read filled the free space: more is likely queued

	process func() bool
	stopped bool
	err     error
	fn      func(fd uintptr) bool
}

func newSockReader(c net.Conn, bufs *bufPool, initial []byte) *sockReader {
	r := &sockReader{c: c, bufs: bufs, rc: rawConn(c), fd: -1}
	r.fn = r.readLoop
	if len(initial) > 0 {
		r.ensure(len(initial))
		r.buf = append(r.buf, initial...)
	}
	return r
}

// Bytes returns the unconsumed bytes.
func (r *sockReader) Bytes() []byte { return r.buf[r.off:] }

// Consume marks n bytes as used.
func (r *sockReader) Consume(n int) {
	r.off += n
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	}
}

// release gives the buffer back when nothing is pending in it.
func (r *sockReader) release() {
	if len(r.buf)-r.off != 0 {
		return
	}
	if r.pb != nil {
		r.bufs.put(r.pb)
		r.pb = nil
	}
	r.own, r.buf, r.off = nil, nil, 0
}

// settleMax is the most bytes settle moves out of a pooled buffer.
const settleMax = 4096

// settle moves a short unconsumed tail out of the pooled buffer into one
// of its own size and gives the pooled one back. Callers use it when the
// socket is drained, so the allocation is off the busy path.
func (r *sockReader) settle() {
	pending := len(r.buf) - r.off
	if r.pb == nil || pending == 0 || pending > settleMax {
		return
	}
	own := make([]byte, pending, max(pending, 512))
	copy(own, r.buf[r.off:])
	r.bufs.put(r.pb)
	r.pb, r.own, r.buf, r.off = nil, own, own, 0
}

// ensure makes room for at least n more bytes, compacting first.
func (r *sockReader) ensure(n int) {
	if r.buf == nil {
		if n <= r.bufs.size {
			r.pb = r.bufs.get()
			r.buf = (*r.pb)[:0]
			return
		}
		r.own = make([]byte, 0, n)
		r.buf = r.own
		return
	}
	if r.off > 0 {
		m := copy(r.buf[:cap(r.buf)], r.buf[r.off:])
		r.buf, r.off = r.buf[:m], 0
	}
	if cap(r.buf)-len(r.buf) >= n {
		return
	}
	nb := make([]byte, len(r.buf), max(2*cap(r.buf), len(r.buf)+n))
	copy(nb, r.buf)
	if r.pb != nil {
		r.bufs.put(r.pb)
		r.pb = nil
	}
	r.own, r.buf = nb, nb
}

// room makes sure a read has somewhere to go: a buffer, and at least a
// little free space at its end. ensure compacts first and doubles the
// buffer only when a message fills it. (Asking for a whole buffer's worth
// here made every read after one that split a message allocate a new,
// doubled buffer: 7% of the CPU at 16 KiB values.)
func (r *sockReader) room() {
	if r.buf == nil {
		r.ensure(r.bufs.size)
		return
	}
	if r.pb == nil && cap(r.buf) < r.bufs.size {
		// A settled tail (see settle): read into a pooled buffer again.
		pb := r.bufs.get()
		r.buf, r.pb, r.own, r.off = append((*pb)[:0], r.buf[r.off:]...), pb, nil, 0
		return
	}
	if cap(r.buf)-len(r.buf) < 512 {
		r.ensure(4096)
	}
}

// Run reads until process returns false (Run returns nil), the peer
// closes (io.EOF) or an error or deadline ends it. process sees Bytes()
// and consumes what it has used; bytes it leaves stay for the next call.
func (r *sockReader) Run(process func() bool) error {
	r.process, r.stopped, r.err = process, false, nil
	if len(r.Bytes()) > 0 && !process() {
		return nil
	}
	if r.rc == nil {
		return r.runBlocking()
	}
	if err := r.rc.Read(r.fn); err != nil {
		r.release()
		return err
	}
	if r.stopped {
		return nil
	}
	return r.err
}

// readLoop runs inside the netpoller callback; returning false parks the
// goroutine until the socket is readable, returning true ends Run.
func (r *sockReader) readLoop(fd uintptr) bool {
	r.fd = int(fd)
	for {
		r.room()
		free := cap(r.buf) - len(r.buf)
		n, err := unix.Read(int(fd), r.buf[len(r.buf):cap(r.buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			r.release()
			return false
		}
		if err != nil || n <= 0 {
			r.err = err
			if err == nil {
				r.err = io.EOF
			}
			return true
		}
		r.buf = r.buf[:len(r.buf)+n]
		r.lastFull = n == free
		if !r.process() {
			r.stopped = true
			return true
		}
		r.shrink()
		r.release()
	}
}

func (r *sockReader) runBlocking() error {
	for {
		r.room()
		free := cap(r.buf) - len(r.buf)
		n, err := r.c.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if n > 0 {
			r.lastFull = n == free
			if !r.process() {
				return nil
			}
			r.shrink()
		}
		if err != nil {
			return err
		}
	}
}

// shrink drops a grown buffer once it is empty, so one large message does
// not pin megabytes for the rest of the session.
func (r *sockReader) shrink() {
	if r.own != nil && r.off == len(r.buf) {
		r.own, r.buf, r.off = nil, nil, 0
	}
}

// SetReadDeadline passes through to the connection (the raw path honours it).
func (r *sockReader) SetReadDeadline(t time.Time) error { return r.c.SetReadDeadline(t) }
