package proxy

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// loopInspect runs an inspecting relay on an event loop. The inspector's
// decisions are the same as in its goroutine form (TLS sessions); what
// changes is how bytes move: the loop reads each side when epoll says so,
// and the inspector's writes go to the pair's endpoints, which write at
// once or keep what a slow socket cannot take yet.
//
// Back-pressure: upstream replies are read only while the client owes
// nothing, and client commands only while the upstream owes nothing, the
// client's kept replies stay under clientKeepMax and the client is owed
// less than a session may hold (roomForCommands: pending requests, the
// proxy's own replies waiting their turn).
type loopInspect struct {
	in      *inspector
	ur      *sockReader // upstream bytes; used as a buffer only (the loop reads)
	st      *upState
	started bool
	// clientDone: the client has left, sent QUIT or broke the protocol;
	// its socket is not read again, and the session ends once the
	// replies it is owed are out.
	clientDone bool
	drain      *time.Timer // ends a closing session whose replies do not come (or do not go out)
	// ending: the session is over but for bytes kept for the client (its
	// last replies, QUIT's +OK, "upstream connection lost"), which the
	// loop writes out before it ends the session with endErr.
	ending bool
	endErr error
	wake   *time.Timer // serves the pair again when a rate-limit pause ends (fairshare.go)
}

// drainTimeout bounds how long a session that is over waits for its
// client to take its last replies.
const drainTimeout = 30 * time.Second

// clientKeepMax bounds the replies kept for a client that does not read.
const clientKeepMax = 256 << 10

// startLoopInspect moves an inspecting relay onto an event loop; false
// when the session cannot go there (TLS on either side, or no epoll).
// Sessions that log in again in place (AWS IAM, whose upstreams are TLS
// anyway) stay on goroutines too: their re-login timer lives there.
func (cn *conn) startLoopInspect(in *inspector) bool {
	if in.reauthEvery > 0 {
		return false
	}
	p := cn.newPair(in.up.Conn)
	if p == nil {
		return false
	}
	li := &loopInspect{in: in, st: newUpState(in.lim, in.srv.reqMem)}
	li.ur = newSockReader(nil, in.srv.bufs, in.up.Rest)
	in.up.Rest = nil
	p.insp, in.ev = li, p
	p.launch(in.up.Conn)
	return true
}

// release gives back the inspector's buffers and stops its timers.
func (li *loopInspect) release() {
	li.in.shutdown()
	if li.drain != nil {
		li.drain.Stop()
	}
	if li.wake != nil {
		li.wake.Stop()
	}
	li.in.release()
	li.ur.drop()
	li.st.acc = nil
	li.st.release()
}

// stepInspect serves an inspecting pair; done means the session is over.
func (l *evLoop) stepInspect(p *relayPair) (done bool, err error) {
	li, in := p.insp, p.insp.in
	if err := l.flush(&p.up); err != nil {
		return true, fmt.Errorf("write upstream: %w", err)
	}
	if err := l.flush(&p.client); err != nil {
		return true, fmt.Errorf("write client: %w", err)
	}
	if li.ending {
		// Over, but for bytes the client is owed: wait for them to go out.
		if p.client.owed() {
			return false, nil
		}
		return true, li.endErr
	}
	if !li.started {
		// Bytes that came with the login, read before the loop took over.
		li.started = true
		if len(li.ur.Bytes()) > 0 {
			if done, err := li.upstreamBytes(); done {
				return li.end(p, err)
			}
		}
		if len(in.cr.Bytes()) > 0 {
			if done, err := li.clientBytes(); done {
				return li.end(p, err)
			}
		}
	}
	// Replies first: they free the queue the client's commands join.
	for p.up.readable && !p.client.owed() {
		n, _, errno := readInto(&p.up, li.ur)
		if errno == unix.EAGAIN {
			break
		}
		if errno != 0 || n == 0 {
			var rerr error = io.EOF
			if errno != 0 {
				rerr = errno
			}
			return li.end(p, li.upstreamGone(rerr))
		}
		if done, err := li.upstreamBytes(); done {
			return li.end(p, err)
		}
		if p.werr != nil {
			return true, p.werr
		}
	}
	// A client held back (see below) is not read, so its close shows only
	// as the peer's hang-up: like a client that sent QUIT, it gets
	// drainTimeout for the replies to catch up (behind BLPOP k 0 they
	// may never come).
	if p.client.rdhup && !li.clientDone && !in.roomForCommands() {
		li.armDrain(p)
	}
	// Commands only while the client is owed less than a session may
	// hold (back-pressure; see roomForCommands) and the session is not
	// held back by its tenant's limits (fairshare.go), first those left
	// in the buffer when it last was.
	for !li.clientDone && !li.held() && !p.up.owed() && len(p.client.out) < clientKeepMax && in.roomForCommands() {
		if in.backlog {
			if done, err := li.clientBytes(); done {
				return li.end(p, err)
			}
			continue
		}
		if !p.client.readable {
			break
		}
		if err := in.cr.room(); err != nil {
			// A request larger than the session or the process may hold.
			li.clientDone = true
			in.local(requestMemoryReply(err))
			if li.finishLater(p) {
				return li.end(p, err)
			}
			break
		}
		n, drained, errno := readInto(&p.client, in.cr)
		if errno == unix.EAGAIN {
			break
		}
		if errno != 0 {
			return true, fmt.Errorf("read client: %w", errno)
		}
		if n == 0 {
			in.cr.release()
			li.clientDone = true
			if li.finishLater(p) {
				return li.end(p, nil)
			}
			break
		}
		if done, err := li.clientBytes(); done {
			return li.end(p, err)
		}
		if drained {
			// Part of a command may be left, and the client may sit on
			// it: keep those bytes in a buffer of their size, not a
			// 64 KiB one, so idle half-sent commands cannot pin memory.
			in.cr.settle()
		}
	}
	if p.werr != nil {
		return true, p.werr
	}
	if in.stopped() {
		return true, nil
	}
	return false, nil
}

// readInto reads ep's socket into r, past any bytes r still holds. It
// returns how many came (0 at EOF) and whether the socket is drained: a
// short read, with no close from the peer to read on to. On EAGAIN, ep is
// no longer readable and r's buffer goes back to the pool.
func readInto(ep *endpoint, r *sockReader) (n int, drained bool, errno unix.Errno) {
	if r.room() != nil {
		// Only a client's reader can fail here, and its caller made
		// room first; should it fail anyway, read nothing.
		return 0, false, unix.ENOBUFS
	}
	free := cap(r.buf) - len(r.buf)
	for {
		n, errno = sysRead(ep.fd, r.buf[len(r.buf):cap(r.buf)])
		if errno != unix.EINTR {
			break
		}
	}
	if errno == unix.EAGAIN {
		ep.readable = false
		r.release()
		return 0, true, errno
	}
	if errno != 0 || n == 0 {
		return 0, false, errno
	}
	r.buf = r.buf[:len(r.buf)+n]
	if drained = n < free && !ep.rdhup; drained {
		ep.readable = false
	}
	return n, drained, 0
}

// upstreamBytes hands what was read from the upstream to the inspector,
// which routes each reply to the client.
func (li *loopInspect) upstreamBytes() (bool, error) {
	in, r := li.in, li.ur
	data := r.Bytes()
	in.mu.Lock()
	perr := in.consume(li.st, data)
	drained := in.closing && in.q.len() == 0
	in.mu.Unlock()
	r.Consume(len(data))
	r.release()
	if perr != nil {
		return true, fmt.Errorf("upstream reply: %w", perr)
	}
	return drained, nil
}

// upstreamGone answers what was pending, as the goroutine relay does.
func (li *loopInspect) upstreamGone(err error) error {
	in := li.in
	in.mu.Lock()
	if !li.st.mid && !in.closing {
		in.failPending()
	}
	in.mu.Unlock()
	return fmt.Errorf("upstream read: %w", err)
}

// clientBytes parses and decides the client's commands read so far.
func (li *loopInspect) clientBytes() (bool, error) {
	in, p := li.in, li.in.ev
	if !in.processClient() {
		li.clientDone = true
		if in.clientErr != nil && !in.closeAfterDrain {
			return true, in.clientErr
		}
		return li.finishLater(p), nil
	}
	in.cr.shrink()
	in.cr.release()
	return false, nil
}

// finishLater marks the session closing. It reports whether it can end
// now (nothing pending); otherwise the session ends when the last reply
// is out, or after 30 s.
func (li *loopInspect) finishLater(p *relayPair) bool {
	in := li.in
	in.mu.Lock()
	in.closing = true
	empty := in.q.len() == 0
	in.mu.Unlock()
	if empty {
		return true
	}
	li.armDrain(p)
	return false
}

// armDrain bounds how long a closing session waits for its last replies.
func (li *loopInspect) armDrain(p *relayPair) {
	if li.drain == nil {
		li.drain = time.AfterFunc(drainTimeout, p.kill)
	}
}

// end ends the session with err once the client has been sent what it is
// owed: at once when nothing is kept for it, else when the loop has
// written it out (or after the drain timeout, if the client never reads).
func (li *loopInspect) end(p *relayPair, err error) (bool, error) {
	if !p.client.owed() {
		return true, err
	}
	li.ending, li.endErr = true, err
	li.armDrain(p)
	return false, nil
}
