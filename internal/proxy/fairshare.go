package proxy

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
	"golang.org/x/sys/unix"
)

// Fair sharing (internal/limit) in the inspecting relay. The relay asks
// admit about every parsed command before deciding it, and reports reply
// bytes to the gate in writeClient; everything else is here.

// Limits returns the process's fair-sharing state (for metrics).
func (s *Server) Limits() *limit.Set { return s.fair }

func newLimitSet(l config.Limits) *limit.Set {
	return limit.NewSet(limit.Options{MaxDelay: l.ThrottleMaxDelay.D()})
}

// reloadLimits applies reloaded limits to the tenants' shared state.
func (s *Server) reloadLimits(lim config.Limits) {
	s.fair.SetMaxDelay(lim.ThrottleMaxDelay.D())
	dir := s.directory()
	s.fair.Sync(func(name string) (limit.Limits, bool) {
		t, ok := dir.Lookup(name)
		if !ok {
			return limit.Limits{}, false
		}
		return t.Route.Limits, true
	})
}

// runQuotaSampler samples the quotas of the current directory's tenants
// until ctx ends.
func (s *Server) runQuotaSampler(ctx context.Context) {
	s.fair.RunSampler(ctx, func() time.Duration { return s.limits().QuotaInterval.D() }, s.quotaTargets, s.log)
}

func (s *Server) quotaTargets() []limit.QuotaTarget {
	dir := s.directory()
	if dir == nil { // a Server made without a directory (no tenants yet)
		return nil
	}
	var out []limit.QuotaTarget
	for _, t := range dir.Tenants() {
		r := t.Route
		if r.PassThrough || !r.Limits.Quota() {
			continue
		}
		s.fair.Tenant(t.Name, r.Limits) // known before its first session, for metrics
		target := r.Target
		out = append(out, limit.QuotaTarget{
			Tenant: t.Name, Upstream: target.Name + "|" + target.Address, DB: r.DB,
			Dial: func(ctx context.Context) (net.Conn, error) {
				return upstream.Dial(ctx, target, upstream.LoginOptions{ClientName: "redoubt-quota"})
			},
		})
	}
	return out
}

// admit applies the tenant's limits to one parsed command (raw is its wire
// form). ok: go on and decide it. A refused command has been answered in
// its place (ok false). Over a rate limit the client is held back: on a
// goroutine admit sleeps (after sending upstream what came before); on an
// event loop it reports pause, and the caller leaves the command unread
// and stops parsing until the loop wakes the session (resumeLimited).
func (in *inspector) admit(c *command.Command, raw []byte, args [][]byte) (ok, pause bool) {
	if in.gate.Off() {
		return true, false
	}
	for {
		v := in.gate.Check(c, args, len(raw))
		switch {
		case v.Refuse != nil:
			if in.inMulti {
				in.multiDirty = true // as any command refused at queue time
			}
			in.local(v.Refuse)
			return false, false
		case v.Wait == 0:
			return true, false
		case in.ev != nil:
			in.pauseUntil, in.held = time.Now().Add(v.Wait), true
			in.ev.insp.wakeAt(in.ev, v.Wait)
			return false, true
		}
		in.flushUp()
		t := time.NewTimer(v.Wait)
		select {
		case <-t.C:
		case <-in.done:
			t.Stop()
			return false, true
		}
	}
}

// wakeAt serves the pair again after d, when a paused session may read on.
func (li *loopInspect) wakeAt(p *relayPair, d time.Duration) {
	if li.wake == nil {
		li.wake = time.AfterFunc(d, p.poke)
		return
	}
	li.wake.Reset(d)
}

// held reports whether the client side is held back: by a rate-limit
// pause (until pauseUntil; the wake timer serves the pair then) or by a
// KEYS iteration (keyscan.go; until its last SCAN reply, which the same
// loop reads). Once released, the commands left undecided in the read
// buffer (in.backlog) are decided by stepInspect's client loop.
func (li *loopInspect) held() bool {
	in := li.in
	if !in.held {
		return false
	}
	if in.keysBusy.Load() || time.Now().Before(in.pauseUntil) {
		return true
	}
	in.held, in.pauseUntil = false, time.Time{}
	return false
}

// poke makes the loop serve the pair: re-arming the client socket's
// registration raises an event for whatever it is ready for (a connected
// socket is nearly always writable). The lock keeps it from touching a
// descriptor the loop has closed, as in kill.
func (p *relayPair) poke() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(p.client.fd),
		Pad:    int32(p.client.gen),
	}
	_ = unix.EpollCtl(p.loop.epfd, unix.EPOLL_CTL_MOD, p.client.fd, &ev)
}

// startDrop is called with the unparsed bytes when the command at their
// start is incomplete. When they already exceed the tenant's
// max_request_bytes, the command is refused whatever follows, so rather
// than buffer it (up to max_bulk_len per argument) the relay drops its
// bytes as they come: a reply scanner frames a request's array like any
// RESP array, counting bulk lengths without keeping the bytes. Inline
// commands are bounded by max_inline_len already.
func (in *inspector) startDrop(data []byte) bool {
	if !in.gate.Oversize(len(data)) || data[0] != '*' {
		return false
	}
	// What the parser kept of it goes: its arrays and their charge to
	// the request budget (chargeArgs).
	if in.cmd.Mem() > argMemFree {
		in.cmd = resp.Command{}
	} else {
		in.cmd.Reset()
	}
	in.releaseArgs()
	in.drop = resp.NewReplyScanner(in.lim)
	return true
}

// dropOversize drops what data holds of the oversize command and, at its
// end, answers the refusal in its place. It returns how many bytes it
// used; false means the stream is broken and the session ends.
func (in *inspector) dropOversize(data []byte, used int) (int, bool) {
	n, done, err := in.drop.Scan(data)
	if err != nil {
		in.cr.Consume(used)
		in.flushUp()
		in.local(resp.AppendError(nil, "ERR Protocol error: "+err.Error()))
		in.clientErr, in.closeAfterDrain = fmt.Errorf("client protocol error: %w", err), true
		return 0, false
	}
	in.dropped += int64(n)
	if done {
		in.drop = nil
		if in.inMulti {
			in.multiDirty = true
		}
		in.local(in.gate.RefuseOversize(in.dropped))
		in.dropped = 0
	}
	return n, true
}
