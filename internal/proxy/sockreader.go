package proxy

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sockReader fills a growable buffer from a connection. On a plain TCP
// socket it borrows its buffer from the pool only when a read returns bytes
// and gives it back whenever it is empty, so a parked reader owns no memory
// but its goroutine. Other connections (TLS) are read the ordinary way.
type sockReader struct {
	c    net.Conn
	rc   syscall.RawConn
	bufs *bufPool
	own  []byte // a grown buffer (large command); nil when using the pool's
	pb   *[]byte
	buf  []byte // unconsumed bytes are buf[off:]
	off  int
	n    int
	err  error
	fn   func(fd uintptr) bool
}

func newSockReader(c net.Conn, bufs *bufPool, initial []byte) *sockReader {
	r := &sockReader{c: c, bufs: bufs, rc: rawConn(c)}
	r.fn = r.tryRead
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

// shrink drops a grown buffer once it is empty, so one large command does
// not pin megabytes for the rest of the session.
func (r *sockReader) shrink() {
	if r.own != nil && r.off == len(r.buf) {
		r.own, r.buf, r.off = nil, nil, 0
	}
}

func (r *sockReader) tryRead(fd uintptr) bool {
	if r.buf == nil {
		r.ensure(r.bufs.size)
	}
	for {
		n, err := unix.Read(int(fd), r.buf[len(r.buf):cap(r.buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			r.release()
			return false
		}
		if n < 0 {
			n = 0
		}
		r.n, r.err = n, err
		if err == nil && n == 0 {
			r.err = io.EOF
		}
		return true
	}
}

// Fill reads at least one more byte, growing the buffer when it is full
// (want is a hint of how much more is needed).
func (r *sockReader) Fill(want int) error {
	if r.buf != nil && cap(r.buf)-len(r.buf) < 512 || want > 0 && r.buf != nil && cap(r.buf)-len(r.buf) < want {
		r.ensure(max(want, 4096))
	}
	if r.rc != nil {
		r.n, r.err = 0, nil
		if err := r.rc.Read(r.fn); err != nil {
			return err
		}
		r.buf = r.buf[:len(r.buf)+r.n]
		if r.n > 0 {
			return nil
		}
		return r.err
	}
	if r.buf == nil {
		r.ensure(r.bufs.size)
	}
	n, err := r.c.Read(r.buf[len(r.buf):cap(r.buf)])
	r.buf = r.buf[:len(r.buf)+n]
	if n > 0 {
		return nil
	}
	return err
}

// SetReadDeadline passes through to the connection (the raw path honours it).
func (r *sockReader) SetReadDeadline(t time.Time) error { return r.c.SetReadDeadline(t) }
