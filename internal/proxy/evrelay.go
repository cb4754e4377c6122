package proxy

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// relayPair is a session on an event loop: its two sockets, taken out of
// Go's netpoller, and what each is still owed. A pass-through pair moves
// bytes as they are (step); an inspecting one hands them to its inspector
// (stepInspect, evinspect.go). Only the loop touches it, except mu and
// closed, which let another goroutine end the session (kill) without
// racing the loop's close.
type relayPair struct {
	loop      *evLoop
	cn        *conn
	bufs      *bufPool
	client    endpoint
	up        endpoint
	spliceMin int
	stop      func() bool  // stops the max-age timer
	upShut    bool         // the client's EOF was passed on to the upstream
	finished  bool         // loop-side: closed, events for it are stale
	insp      *loopInspect // set for an inspecting relay, nil for pass-through
	werr      error        // a write to the client failed (inspecting relay)
	drain     *time.Timer  // pass-through: ends a session whose last bytes the client does not take

	mu     sync.Mutex
	closed bool
}

// endpoint is one socket of a pair and its state on the loop. The flags
// are edge-triggered readiness the loop has not used up yet.
type endpoint struct {
	fd    int
	gen   uint32 // stamped into this socket's events
	pair  *relayPair
	peer  *endpoint
	count *atomic.Int64 // bytes read from this socket

	readable, writable bool
	rdhup              bool // the peer closed (or reset): read until EOF
	eof                bool

	// What this socket is owed and could not take yet: bytes in a pooled
	// buffer, or bytes left in a kernel pipe by splice. At most one is set,
	// and while either is, the peer is not read (back-pressure).
	out     []byte
	outBuf  *[]byte
	pipe    *kpipe
	pipeLen int
}

func (ep *endpoint) owed() bool { return ep.outBuf != nil || ep.pipe != nil }

// startLoopRelay moves a logged-in plain-TCP pass-through session onto an
// event loop. It reports false, leaving the connections untouched, when
// the session cannot go there (TLS on either side, no epoll, a descriptor
// could not be copied); the caller then runs the goroutine relay.
func (cn *conn) startLoopRelay(up net.Conn, spliceMin int, stop func() bool) bool {
	p := cn.newPair(up)
	if p == nil {
		return false
	}
	p.spliceMin, p.stop = spliceMin, stop
	p.launch(up)
	return true
}

// newPair takes copies of a session's two sockets for an event loop; nil
// when it cannot.
func (cn *conn) newPair(up net.Conn) *relayPair {
	if rawConn(cn.c) == nil || rawConn(up) == nil {
		return nil
	}
	l, err := pickLoop(cn.srv.limits().EventLoops)
	if err != nil {
		return nil
	}
	cfd, ok := socketCopy(cn.c)
	if !ok {
		return nil
	}
	ufd, ok := socketCopy(up)
	if !ok {
		unix.Close(cfd)
		return nil
	}
	p := &relayPair{loop: l, cn: cn, bufs: cn.srv.bufs, stop: func() bool { return false }}
	p.client = endpoint{fd: cfd, gen: pairGen.Add(1), pair: p, peer: &p.up, count: &cn.sess.BytesIn, writable: true}
	p.up = endpoint{fd: ufd, gen: pairGen.Add(1), pair: p, peer: &p.client, count: &cn.sess.BytesOut, writable: true}
	return p
}

// launch hands the pair to its loop, which from then on ends the session.
func (p *relayPair) launch(up net.Conn) {
	cn := p.cn
	if !cn.sess.setKill(p.kill) {
		// Ended (revoked, shutdown) while logging in.
		p.release()
		up.Close()
		cn.end(nil)
		return
	}
	// From here the copies are the session's sockets: closing the
	// originals takes them out of Go's netpoller without a FIN (the
	// copies keep the connections open).
	cn.c.Close()
	up.Close()
	if err := p.loop.add(p); err != nil {
		p.release()
		cn.end(fmt.Errorf("event loop: %w", err))
	}
}

// release closes the copies and gives back what the pair holds; for a
// pair the loop never served.
func (p *relayPair) release() {
	unix.Close(p.client.fd)
	unix.Close(p.up.fd)
	p.stop()
	if p.insp != nil {
		p.insp.release()
	}
}

// socketCopy duplicates a plain TCP connection's descriptor. The copy
// shares the open socket, non-blocking as Go made it.
func socketCopy(c net.Conn) (int, bool) {
	rc := rawConn(c)
	if rc == nil {
		return -1, false
	}
	fd := -1
	if err := rc.Control(func(s uintptr) {
		fd, _ = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || fd < 0 {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, false
	}
	return fd, true
}

// kill ends the session from any goroutine: shutting both sockets down
// wakes the loop, which sees them end and closes the pair. The lock keeps
// it from shutting down a descriptor number the loop has closed and the
// process may have reused.
func (p *relayPair) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	_ = unix.Shutdown(p.client.fd, unix.SHUT_RDWR)
	_ = unix.Shutdown(p.up.fd, unix.SHUT_RDWR)
}

// step moves whatever the pair's readiness allows: first what each side
// is owed, then fresh bytes both ways.
func (l *evLoop) step(p *relayPair) error {
	if err := l.flush(&p.up); err != nil {
		return fmt.Errorf("write upstream: %w", err)
	}
	if err := l.flush(&p.client); err != nil {
		return fmt.Errorf("write client: %w", err)
	}
	if err := l.pump(&p.client, &p.up); err != nil {
		return err
	}
	if err := l.pump(&p.up, &p.client); err != nil {
		return err
	}
	// The client's half-close is passed on once everything it sent is
	// out; the upstream then answers what it has, and its own close (seen
	// by the caller through up.eof) ends the session.
	if p.client.eof && !p.upShut && !p.up.owed() {
		p.upShut = true
		if err := unix.Shutdown(p.up.fd, unix.SHUT_WR); err != nil {
			return fmt.Errorf("half-close upstream: %w", err)
		}
	}
	return nil
}

// pump reads src and writes to dst until src is drained, dst cannot take
// more, or src ends.
func (l *evLoop) pump(src, dst *endpoint) error {
	p := src.pair
	size := p.bufs.size
	if len(l.buf) < size {
		l.buf = make([]byte, size)
	}
	buf := l.buf[:size]
	full := 0 // consecutive reads that filled the buffer
	for src.readable && !src.eof && !dst.owed() {
		n, errno := sysRead(src.fd, buf)
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			if errno == unix.EAGAIN {
				src.readable = false
				return nil
			}
			return fmt.Errorf("read %s: %w", src.side(), errno)
		}
		if n == 0 {
			src.eof, src.readable = true, false
			return nil
		}
		src.count.Add(int64(n))
		if err := dst.send(buf[:n]); err != nil {
			return err
		}
		if n < size {
			// Drained, unless the peer closed: then read on to the EOF,
			// for which no further edge would come.
			if !src.rdhup {
				src.readable = false
			}
			continue
		}
		// Two full reads in a row suggest a large transfer: only then is
		// the socket's queue worth a look (a pipeline of 16 KiB values
		// fills one read at a time and would pay an ioctl per read).
		if full++; full >= 2 && p.spliceMin > 0 {
			if err := l.spliceLarge(src, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// send writes b to ep, keeping what it cannot take now (after bytes
// already kept, to keep the order).
func (ep *endpoint) send(b []byte) error {
	for len(b) > 0 && ep.writable && !ep.owed() {
		n, errno := sysWrite(ep.fd, b)
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			if errno == unix.EAGAIN {
				ep.writable = false
				break
			}
			return fmt.Errorf("write %s: %w", ep.side(), errno)
		}
		b = b[n:]
	}
	if len(b) > 0 {
		if ep.outBuf == nil {
			ep.outBuf = ep.pair.bufs.get()
			ep.out = (*ep.outBuf)[:0]
		}
		ep.out = append(ep.out, b...) // may outgrow the pooled buffer: the inspecting relay writes several replies per event
	}
	return nil
}

// flush writes what dst is owed, as far as it takes it.
func (l *evLoop) flush(dst *endpoint) error {
	for dst.writable && dst.owed() {
		var n int
		var errno unix.Errno
		if dst.pipe != nil {
			n, errno = sysSplice(dst.pipe.r, dst.fd, dst.pipeLen)
		} else {
			n, errno = sysWrite(dst.fd, dst.out)
		}
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			if errno == unix.EAGAIN {
				dst.writable = false
				return nil
			}
			return errno
		}
		if dst.pipe != nil {
			if dst.pipeLen -= n; dst.pipeLen == 0 {
				putPipe(dst.pipe, true)
				dst.pipe = nil
			}
			continue
		}
		if dst.out = dst.out[n:]; len(dst.out) == 0 {
			dst.pair.bufs.put(dst.outBuf)
			dst.out, dst.outBuf = nil, nil
		}
	}
	return nil
}

// spliceLarge moves bytes through the kernel while src has at least
// spliceMin bytes queued: a large transfer is under way. Smaller messages
// stay on read/write, where one of each beats two splices and the pipe
// bookkeeping (measured: docs/benchmarks.md).
func (l *evLoop) spliceLarge(src, dst *endpoint) error {
	for !dst.owed() {
		avail, errno := sysQueued(src.fd)
		if errno != 0 || avail < src.pair.spliceMin {
			return nil
		}
		pp, err := getPipe()
		if err != nil {
			return nil // no pipe to be had: the read path carries on
		}
		m, errno := sysSplice(src.fd, pp.w, min(avail, pp.size))
		if errno != 0 || m <= 0 {
			putPipe(pp, true)
			if errno == 0 || errno == unix.EAGAIN || errno == unix.EINTR {
				return nil // the next read sorts out why
			}
			return fmt.Errorf("splice from %s: %w", src.side(), errno)
		}
		src.count.Add(int64(m))
		SpliceBytes.Add(int64(m))
		dst.pipe, dst.pipeLen = pp, m
		if err := l.flush(dst); err != nil {
			return fmt.Errorf("splice to %s: %w", dst.side(), err)
		}
	}
	return nil
}

// finish closes the pair's sockets and ends the session, once.
func (l *evLoop) finish(p *relayPair, err error) {
	if p.finished {
		return
	}
	p.finished = true
	if p.insp != nil {
		// Last replies (an upstream-lost error, QUIT's OK): one try.
		p.client.writable = true
		_ = l.flush(&p.client)
		p.insp.release()
	}
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	// As in conn.end: the slot is free before the client sees the close.
	p.cn.srv.reg.remove(p.cn.sess)
	for _, ep := range [2]*endpoint{&p.client, &p.up} {
		sockets.set(ep.fd, nil) // before close: the number may be reused at once
		if ep.outBuf != nil {
			p.bufs.put(ep.outBuf)
			ep.out, ep.outBuf = nil, nil
		}
		if ep.pipe != nil {
			putPipe(ep.pipe, false) // may hold bytes: closed, not pooled
			ep.pipe = nil
		}
	}
	unix.Close(p.up.fd)
	// The client's socket leaves the loop for a lingering close (linger.go).
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, p.client.fd, nil)
	p.stop()
	if p.drain != nil {
		p.drain.Stop()
	}
	LoopSessions.Add(-1)
	// end logs and takes the registry lock: not on the loop's time.
	cfd := p.client.fd
	go func() {
		p.cn.end(err)
		lingerFD(cfd)
	}()
}

func (ep *endpoint) side() string {
	if ep == &ep.pair.client {
		return "client"
	}
	return "upstream"
}
