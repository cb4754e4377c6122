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

	// A client's reader keeps a request whole until the relay can decide
	// about it; these bound what that may cost (see room).
	mem     *memBudget // charged for grown buffers; nil: not charged
	charged int64      // bytes of own charged to mem
	limit   int        // most bytes one request may hold; 0: no limit
	want    int        // bytes the request under way needs (resp.Command.Need), 0: unknown

	process func() bool
	stopped bool
	err     error
	fn      func(fd uintptr) bool
}

func newSockReader(c net.Conn, bufs *bufPool, initial []byte) *sockReader {
	r := &sockReader{c: c, bufs: bufs, rc: rawConn(c), fd: -1}
	r.fn = r.readLoop
	if len(initial) > 0 {
		// Bytes that came with the login: at most the login's buffer,
		// which its own cap bounds.
		if len(initial) <= bufs.size {
			r.pb = bufs.get()
			r.buf = append((*r.pb)[:0], initial...)
		} else {
			r.own = append([]byte(nil), initial...)
			r.buf = r.own
		}
	}
	return r
}

// limitRequests makes r a client's reader: a request it must keep whole
// may hold at most limit bytes, and the bytes of grown buffers are charged
// to mem.
func (r *sockReader) limitRequests(mem *memBudget, limit int) {
	r.mem, r.limit = mem, limit
}

// setOwn replaces the grown buffer, moving the charge to the new one,
// whose size was reserved by the caller (or is not charged: nil).
func (r *sockReader) setOwn(b []byte, charged int64) {
	if r.charged > 0 {
		r.mem.free(r.charged)
	}
	r.own, r.charged = b, charged
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
	r.setOwn(nil, 0)
	r.buf, r.off = nil, 0
}

// drop gives the buffer back whatever it holds: the session is over.
func (r *sockReader) drop() {
	r.buf, r.off = r.buf[:0], 0
	r.release()
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
	r.pb, r.buf, r.off = nil, own, 0
	r.setOwn(own, 0) // at most settleMax: part of a session's baseline
}

// minRead is the least free space a read is given.
const minRead = 512

// maxGrowStep bounds one growth of a buffer whose final size is unknown
// (a request of many arguments): past it the buffer grows by this much,
// not by doubling.
const maxGrowStep = 8 << 20

// room makes sure a read has somewhere to go: a buffer, and at least
// minRead bytes free at its end, compacting first. A buffer that must
// hold a request larger than the pooled one grows towards the size the
// request declared (r.want), geometrically so that a header alone cannot
// make it allocate, and never past it; each growth is checked against the
// request limit and charged to the memory budget first. (Asking for a
// whole buffer's worth of free space every time made every read after one
// that split a message allocate a new, doubled buffer: 7% of the CPU at
// 16 KiB values.)
func (r *sockReader) room() error {
	pending := len(r.buf) - r.off
	if r.pb == nil && cap(r.buf) < r.bufs.size && max(r.want, pending+minRead) <= r.bufs.size {
		// No buffer, or a settled tail (see settle): read into a pooled one.
		pb := r.bufs.get()
		r.buf, r.pb, r.off = append((*pb)[:0], r.buf[r.off:]...), pb, 0
		r.setOwn(nil, 0)
		return nil
	}
	// A read needs minRead bytes of space, or just what the request
	// under way still lacks.
	free := minRead
	if r.want > pending {
		free = min(free, r.want-pending)
	}
	if cap(r.buf)-len(r.buf) >= free {
		return nil
	}
	if r.off > 0 {
		m := copy(r.buf[:cap(r.buf)], r.buf[r.off:])
		r.buf, r.off = r.buf[:m], 0
		if cap(r.buf)-len(r.buf) >= free {
			return nil
		}
	}
	// Double what has arrived, up to what the request declared; once an
	// eighth of it is here, go to the declared size at once: fewer
	// copies, and no outgrown buffers left for the collector (they kept
	// RSS a third above the budget). A header alone never allocates
	// much. When the size is unknown, grow by at most maxGrowStep.
	size := max(pending+minRead, 2*cap(r.buf), r.bufs.size)
	if r.want > 0 {
		if pending >= r.want/8 {
			size = r.want
		}
		size = min(size, max(r.want, pending+minRead))
	} else {
		size = min(size, max(pending+minRead, cap(r.buf)+maxGrowStep))
	}
	if r.limit > 0 && size > r.limit {
		if pending+minRead > r.limit || r.want > r.limit {
			return errQueryBufferLimit
		}
		size = r.limit
	}
	var charge int64
	if r.mem != nil {
		charge = int64(size)
		if !r.mem.reserve(charge) {
			return errRequestBudget
		}
	}
	nb := make([]byte, pending, size)
	copy(nb, r.buf[r.off:])
	if r.pb != nil {
		r.bufs.put(r.pb)
		r.pb = nil
	}
	r.setOwn(nb, charge)
	r.buf, r.off = nb, 0
	return nil
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
		if err := r.room(); err != nil {
			r.err = err
			return true
		}
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
		if err := r.room(); err != nil {
			return err
		}
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
		r.setOwn(nil, 0)
		r.buf, r.off = nil, 0
	}
}

// SetReadDeadline passes through to the connection (the raw path honours it).
func (r *sockReader) SetReadDeadline(t time.Time) error { return r.c.SetReadDeadline(t) }
