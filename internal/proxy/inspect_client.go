package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/resp"
	"golang.org/x/sys/unix"
)

// Back-pressure: what a session may be owed before its client is no
// longer read (TCP then pushes back on the client). Commands already read
// wait in the read buffer meanwhile, undecided.
const (
	maxPending   = 1024      // requests waiting for their replies
	maxOwedLocal = 256 << 10 // bytes of the proxy's own replies waiting their turn
)

// processClient parses and decides every complete command in the buffer,
// then writes the batch upstream. It runs inside the client socket's
// poller callback: it must not close the client connection. It stops
// early, leaving commands in the buffer, while the client is owed as much
// as a session may hold: the goroutine relay then waits here for the
// replies to catch up, the event loop comes back when they have.
func (in *inspector) processClient() bool {
	for {
		if !in.decideBuffered() {
			return false
		}
		if err := in.flushUp(); err != nil {
			in.clientErr = err
			return false
		}
		if !in.backlog || in.ev != nil {
			break
		}
		if !in.waitForRoom() {
			return false
		}
	}
	if err := in.maybeReauth(); err != nil {
		in.clientErr = err
		return false
	}
	return true
}

// decideBuffered parses and decides the complete commands in the read
// buffer (false: the session's client side is over).
func (in *inspector) decideBuffered() bool {
	data := in.cr.Bytes()
	used := 0
	in.backlog = false
	in.cr.want = 0
	for len(data) > 0 {
		if in.full {
			in.backlog = true
			break
		}
		if in.drop != nil { // fair sharing (fairshare.go): a command over max_request_bytes
			n, ok := in.dropOversize(data, used)
			if !ok {
				return false
			}
			data, used = data[n:], used+n
			continue
		}
		n, err := resp.ParseCommand(data, &in.cmd, &in.lim)
		if errors.Is(err, resp.ErrIncomplete) {
			if in.startDrop(data) {
				continue // dropped as it arrives, never kept whole
			}
			// The reader grows its buffer towards what the request
			// declared (bounded: see sockReader.room).
			in.cr.want = in.cmd.Need()
			if err := in.chargeArgs(); err != nil {
				in.cr.Consume(used)
				in.flushUp()
				in.local(requestMemoryReply(err))
				in.clientErr, in.closeAfterDrain = err, true
				return false
			}
			break
		}
		if err != nil {
			var pe *resp.ProtocolError
			msg := "ERR Protocol error"
			if errors.As(err, &pe) {
				msg = "ERR " + pe.Error()
			}
			in.cr.Consume(used)
			in.flushUp()
			in.local(resp.AppendError(nil, msg))
			in.clientErr, in.closeAfterDrain = fmt.Errorf("client protocol error: %w", err), true
			return false
		}
		if len(in.cmd.Args) > 0 && in.decide(data[:n], in.cmd.Args) {
			// A rate limit holds the session back (event loop): the
			// command stays in the buffer, decided when the loop
			// resumes the session (evinspect.go).
			in.backlog = true
			break
		}
		if in.cmd.Mem() > argMemFree {
			// A request of many arguments is done: drop its arrays.
			in.cmd = resp.Command{}
			in.releaseArgs()
		}
		data = data[n:]
		used += n
		if in.holdForKeys() {
			// A KEYS iteration runs (keyscan.go): nothing more goes
			// upstream until it is done; the event loop resumes the rest.
			in.backlog = true
			break
		}
		if in.quitting {
			in.cr.Consume(used)
			in.flushUp()
			return false
		}
	}
	in.cr.Consume(used)
	return true
}

// argMemFree is how much of a request's argument arrays is not charged
// to the request budget: part of a session's baseline.
const argMemFree = 256 << 10

// chargeArgs charges the parsed-argument arrays of a request under way
// (about 40 bytes per argument: resp.Command.Mem) to the request budget and
// counts them against the session's request limit, like its bytes: a
// request of a million empty arguments holds 6 MB of bytes and 40 MB of
// arrays.
func (in *inspector) chargeArgs() error {
	m := int64(in.cmd.Mem())
	if m <= argMemFree {
		in.releaseArgs()
		return nil
	}
	if lim := in.cr.limit; lim > 0 && m+int64(len(in.cr.Bytes())) > int64(lim) {
		return errQueryBufferLimit
	}
	if m > in.argMem && !in.cr.mem.reserve(m-in.argMem) {
		return errRequestBudget
	}
	if m < in.argMem {
		in.cr.mem.free(in.argMem - m)
	}
	in.argMem = m
	return nil
}

// release gives back what the client side holds when the session ends,
// on either transport: the read buffer, whatever it still holds, and the
// charges for it and for a request's parsed arguments.
func (in *inspector) release() {
	in.cr.drop()
	in.releaseArgs()
	in.mu.Lock()
	if it := in.keys; it != nil {
		in.keysFinish(it) // a KEYS iteration cut short: its budget charge
	}
	in.mu.Unlock()
}

// releaseArgs gives back what chargeArgs charged.
func (in *inspector) releaseArgs() {
	if in.argMem > 0 {
		in.cr.mem.free(in.argMem)
		in.argMem = 0
	}
}

// roomForCommands reports whether the client may be read again: it is
// owed less than a session may hold.
func (in *inspector) roomForCommands() bool {
	in.mu.Lock()
	in.full = in.q.len() >= maxPending || in.q.local >= maxOwedLocal
	in.mu.Unlock()
	return !in.full
}

// waitForRoom blocks the goroutine relay's client loop until the replies
// have caught up (false: the session ended meanwhile).
//
// The client is not read meanwhile, so its going away would go unseen,
// and behind a command that never returns (BLPOP k 0) the session would
// stay for ever: the wait looks at the socket every second, and a client
// that has closed (or shut down writing) gets drainTimeout for its
// replies to catch up, as a client that sent QUIT would.
func (in *inspector) waitForRoom() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	var goneAt time.Time
	for in.q.len() >= maxPending || in.q.local >= maxOwedLocal {
		if in.stopped() {
			return false
		}
		if clientClosed(in.cn.c) {
			if goneAt.IsZero() {
				goneAt = time.Now()
			} else if time.Since(goneAt) > drainTimeout {
				in.clientErr = errors.New("client left while its replies were held back")
				return false
			}
		}
		in.waiting = true
		wake := time.AfterFunc(time.Second, func() {
			in.mu.Lock()
			in.cond.Broadcast()
			in.mu.Unlock()
		})
		in.cond.Wait()
		wake.Stop()
	}
	in.waiting, in.full = false, false
	return !in.stopped()
}

// clientClosed reports whether the peer of a TCP (or TLS over TCP)
// connection has closed or shut down writing, without reading from it.
func clientClosed(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	rc := rawConn(c)
	if rc == nil {
		return false
	}
	closed := false
	_ = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			closed = fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return closed
}

func (in *inspector) flushUp() error {
	if len(in.upOut) == 0 {
		return nil
	}
	err := in.writeUp(in.upOut)
	if cap(in.upOut) > 1<<20 {
		in.upOut = nil
	} else {
		in.upOut = in.upOut[:0]
	}
	return err
}

// reauthRetry is how often a due but held-back re-login checks again.
const reauthRetry = 100 * time.Millisecond

// maybeReauth logs in again in place (AWS IAM's 12-hour ceiling) when due
// and safe: not inside MULTI, not in RESP2 subscribed mode (where AUTH is
// not allowed) or while a subscription change is unconfirmed, and not
// while a blocking command waits; otherwise it waits for the next safe point.
func (in *inspector) maybeReauth() error {
	if in.reauthEvery <= 0 || time.Now().Before(in.nextReauth) || in.inMulti {
		return nil
	}
	in.mu.Lock()
	unsafe := in.q.unsafe > 0 || !in.proto3 && in.subscribedLocked()
	in.mu.Unlock()
	if unsafe {
		return nil
	}
	in.injectLogin()
	in.nextReauth = time.Now().Add(jitter(in.reauthEvery))
	in.srv.metrics.reauths.Add(1)
	return in.flushUp()
}

// setReauthDeadline wakes an idle session for its next re-login. When one
// is due but held back (MULTI, subscribed, a blocked command), it polls
// briefly: a past deadline would make every read fail at once and the
// session would spin without ever reading the client again.
func (in *inspector) setReauthDeadline() {
	if in.reauthEvery <= 0 {
		return
	}
	dl := in.nextReauth
	if now := time.Now(); !dl.After(now) {
		dl = now.Add(reauthRetry)
	}
	_ = in.cr.SetReadDeadline(dl)
}
