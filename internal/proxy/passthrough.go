package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	dst       net.Conn
	r         *sockReader
	dstRaw    syscall.RawConn // nil when dst is TLS (no splice)
	bytes     *atomic.Int64
	spliceMin int
	werr      error
	// halfClose passes src's EOF on to dst. Only the client's EOF needs
	// it; the upstream's ends the session, which closes the client anyway.
	halfClose bool
}

func newDirection(src, dst net.Conn, bytes *atomic.Int64, bufs *bufPool, spliceMin int) *direction {
	d := &direction{dst: dst, bytes: bytes, spliceMin: spliceMin}
	d.r = newSockReader(src, bufs, nil)
	d.dstRaw = rawConn(dst)
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

// run copies until src ends. It returns nil on an orderly EOF (after
// half-closing dst) and the error otherwise.
func (d *direction) run() error {
	err := d.r.Run(d.forward)
	if d.werr != nil {
		return d.werr
	}
	if errors.Is(err, io.EOF) {
		if d.halfClose {
			closeWrite(d.dst)
		}
		return nil
	}
	if err == nil {
		err = io.EOF
	}
	return err
}

// forward writes what was read to dst. It runs inside src's poller
// callback: it may write and splice, but never close src.
func (d *direction) forward() bool {
	data := d.r.Bytes()
	_, err := d.dst.Write(data)
	d.bytes.Add(int64(len(data)))
	d.r.Consume(len(data))
	if err != nil {
		d.werr = err
		return false
	}
	if d.r.lastFull && d.r.fd >= 0 && d.dstRaw != nil && d.spliceMin > 0 {
		if err := d.spliceWhileLarge(d.r.fd); err != nil {
			d.werr = err
			return false
		}
	}
	return true
}

// spliceWhileLarge moves bytes through the kernel while the socket has at
// least spliceMin bytes queued: a large transfer is under way. Smaller
// messages stay on the user-space path, where one read and one write beat
// two splices and the pipe bookkeeping (measured: see docs/benchmarks.md).
func (d *direction) spliceWhileLarge(fd int) error {
	for {
		avail, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		if err != nil || avail < d.spliceMin {
			return nil
		}
		n, err := spliceFrom(fd, d.dstRaw, avail)
		d.bytes.Add(int64(n))
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // nothing moved (EOF or EAGAIN): the read path sees why
		}
	}
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

// startPassThrough relays bytes both ways untouched, in two fresh
// goroutines, and ends the session when both are done. A client's
// half-close is passed on (the upstream still answers what it already
// has); the upstream closing, or any error, ends the whole session.
func (cn *conn) startPassThrough(up net.Conn, spliceMin int, stopTimer func() bool) {
	client, s := cn.c, cn.sess
	upward := newDirection(client, up, &s.BytesIn, cn.srv.bufs, spliceMin)
	downward := newDirection(up, client, &s.BytesOut, cn.srv.bufs, spliceMin)
	upward.halfClose = true
	var mu sync.Mutex
	var first error
	left := 2
	done := func(err error, endAll bool) {
		if endAll || err != nil {
			interrupt(client)
			interrupt(up)
		}
		mu.Lock()
		if first == nil {
			first = err
		}
		left--
		last := left == 0
		mu.Unlock()
		if last {
			stopTimer()
			up.Close()
			cn.end(first)
		}
	}
	go cn.guard(upward.run, func(err error) { done(err, false) })
	go cn.guard(downward.run, func(err error) { done(err, true) })
}

// interrupt wakes every read and write parked on c at once with a past
// deadline. It never waits, unlike Close, which would wait for a goroutine
// inside c's poller callback; the session's last relay goroutine closes c.
func interrupt(c net.Conn) {
	_ = c.SetDeadline(time.Unix(1, 0))
}
