package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// bufPool holds the user-space copy buffers. A direction borrows one only
// while bytes are moving and returns it before it waits again.
type bufPool struct {
	size int
	pool sync.Pool
}

func newBufPool(size int) *bufPool {
	p := &bufPool{size: size}
	p.pool.New = func() any { b := make([]byte, size); return &b }
	return p
}

func (p *bufPool) get() *[]byte  { return p.pool.Get().(*[]byte) }
func (p *bufPool) put(b *[]byte) { p.pool.Put(b) }

// direction copies one way of a pass-through session.
type direction struct {
	src, dst  net.Conn
	srcRaw    syscall.RawConn // nil when src is TLS
	dstRaw    syscall.RawConn // nil when dst is TLS
	bytes     *atomic.Int64
	bufs      *bufPool
	spliceMin int
	buf       *[]byte
	n         int
	err       error
	readFn    func(fd uintptr) bool
}

func newDirection(src, dst net.Conn, bytes *atomic.Int64, bufs *bufPool, spliceMin int) *direction {
	d := &direction{src: src, dst: dst, bytes: bytes, bufs: bufs, spliceMin: spliceMin}
	d.srcRaw = rawConn(src)
	d.dstRaw = rawConn(dst)
	d.readFn = d.tryRead
	return d
}

// rawConn returns the socket of a plain TCP connection, nil otherwise
// (TLS, or anything wrapped, which would hide the socket).
func rawConn(c net.Conn) syscall.RawConn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryRead runs inside the netpoller's callback: it borrows a buffer only
// when the read succeeds, so a parked direction holds none.
func (d *direction) tryRead(fd uintptr) bool {
	if d.buf == nil {
		d.buf = d.bufs.get()
	}
	for {
		n, err := unix.Read(int(fd), *d.buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			d.bufs.put(d.buf)
			d.buf = nil
			return false
		}
		if n < 0 {
			n = 0
		}
		d.n, d.err = n, err
		if err == nil && n == 0 {
			d.err = io.EOF
		}
		return true
	}
}

// run copies until src ends. It returns nil on an orderly EOF (after
// half-closing dst) and the error otherwise.
func (d *direction) run() error {
	for {
		n, err := d.read()
		if n > 0 {
			_, werr := d.dst.Write((*d.buf)[:n])
			d.bytes.Add(int64(n))
			full := n == len(*d.buf)
			d.bufs.put(d.buf)
			d.buf = nil
			if werr != nil {
				return werr
			}
			if full && d.srcRaw != nil && d.dstRaw != nil {
				if err := d.spliceWhileLarge(); err != nil {
					return err
				}
			}
		} else if d.buf != nil {
			d.bufs.put(d.buf)
			d.buf = nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				closeWrite(d.dst)
				return nil
			}
			return err
		}
	}
}

func (d *direction) read() (int, error) {
	if d.srcRaw != nil {
		d.n, d.err = 0, nil
		if err := d.srcRaw.Read(d.readFn); err != nil {
			return 0, err
		}
		return d.n, d.err
	}
	// TLS (or another wrapper) buffers inside; a blocking read is the only
	// correct way to wait on it, so it holds a buffer while idle.
	d.buf = d.bufs.get()
	return d.src.Read(*d.buf)
}

// spliceWhileLarge moves bytes through the kernel while the socket has at
// least spliceMin bytes queued: a large transfer is under way. Small
// messages stay on the user-space path, where one read and one write beat
// the two splices and the pipe bookkeeping.
func (d *direction) spliceWhileLarge() error {
	for {
		avail, err := queued(d.srcRaw)
		if err != nil || avail < d.spliceMin {
			return nil
		}
		n, err := spliceN(d.srcRaw, d.dstRaw, avail)
		d.bytes.Add(int64(n))
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // EOF; the next read reports it
		}
	}
}

// queued returns the bytes waiting in a socket's receive queue.
func queued(rc syscall.RawConn) (int, error) {
	var q int
	var qerr error
	err := rc.Control(func(fd uintptr) { q, qerr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	if err != nil {
		return 0, err
	}
	return q, qerr
}

func closeWrite(c net.Conn) {
	switch cw := c.(type) {
	case *net.TCPConn:
		_ = cw.CloseWrite()
	case *tls.Conn:
		_ = cw.CloseWrite()
	default:
		_ = c.Close()
	}
}

// passThrough relays bytes both ways untouched until both directions end or
// one fails, then closes both connections. A client's half-close is passed
// on (the upstream still answers what it already has); the upstream
// closing, or any error, ends the whole session.
func passThrough(client, up net.Conn, in, out *atomic.Int64, bufs *bufPool, spliceMin int) error {
	upward := newDirection(client, up, in, bufs, spliceMin)
	downward := newDirection(up, client, out, bufs, spliceMin)
	closeBoth := func() { client.Close(); up.Close() }
	errc := make(chan error, 1)
	go func() {
		err := downward.run()
		closeBoth()
		errc <- err
	}()
	err1 := upward.run()
	if err1 != nil {
		closeBoth()
	}
	err2 := <-errc
	if err1 != nil {
		return err1
	}
	return err2
}
