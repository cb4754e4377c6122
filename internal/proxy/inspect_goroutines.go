package proxy

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// inspect runs the inspecting relay until either side ends.
// It runs the client and upstream loops in two fresh goroutines and ends
// the session when both are done.
func (s *Server) inspect(cn *conn, up *upstream.Conn, lg *login) {
	route := lg.id.Route
	pol := route.Policy
	if pol == nil {
		up.Close()
		cn.end(errors.New("route has no policy"))
		return
	}
	in := &inspector{
		srv: s, cn: cn, up: up, route: route, pol: pol, obs: s.obs.Tenant(lg.id.Tenant), timed: s.observed,
		isolated: route.Shared, db: route.DB,
		lim:  resp.DefaultLimits(),
		done: make(chan struct{}),
	}
	lim := s.limits()
	in.lim.MaxBulkLen = lim.MaxBulkLen
	in.lim.MaxInlineLen = lim.MaxInlineLen
	in.cond = sync.NewCond(&in.mu)
	if in.isolated {
		in.prefix = []byte("t:" + lg.id.Tenant + ":")
	}
	if lg.hello != nil && lg.hello.hello.Proto == 3 {
		in.proto3 = true
	}
	if route.ReauthEvery > 0 {
		in.reauthEvery = route.ReauthEvery
		in.nextReauth = time.Now().Add(jitter(route.ReauthEvery))
	}
	cn.sess.inspector.Store(in) // PUBSUB NUMPAT counts the tenant's sessions' patterns (numpat.go)
	in.gate = s.fair.Gate(lg.id.Tenant, route.Limits)
	in.cr = newSockReader(cn.c, s.bufs, cn.buf)
	in.cr.limitRequests(s.reqMem, int(lim.ClientQueryBufferLimit))
	cn.buf = nil
	if cn.startLoopInspect(in) {
		return
	}

	var mu sync.Mutex
	var cerr, uerr error
	left := 2
	done := func() {
		in.shutdown() // the other loop stops too
		mu.Lock()
		left--
		last := left == 0
		err := cerr
		if err == nil || isClosedErr(err) {
			err = uerr
		}
		mu.Unlock()
		if last {
			in.release()
			up.Close()
			cn.end(err)
		}
	}
	go cn.guard(in.clientLoop, func(err error) { mu.Lock(); cerr = err; mu.Unlock(); done() })
	go cn.guard(in.upstreamLoop, func(err error) { mu.Lock(); uerr = err; mu.Unlock(); done() })
}

// shutdown ends both sides once. It interrupts with deadlines rather than
// closing, because it may run inside a poller callback of either
// connection; the connections are closed by their owners afterwards.
func (in *inspector) shutdown() {
	in.once.Do(func() {
		close(in.done)
		past := time.Unix(1, 0)
		_ = in.cn.c.SetDeadline(past)
		_ = in.up.SetDeadline(past)
		in.mu.Lock()
		in.cond.Broadcast() // a client loop waiting for room
		in.mu.Unlock()
	})
}

func (in *inspector) stopped() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// clientLoop reads client commands until the client leaves or either side
// fails. The work happens in processClient, inside the poller callback.
func (in *inspector) clientLoop() error {
	for {
		in.setReauthDeadline()
		err := in.cr.Run(in.processClient)
		if in.stopped() {
			return nil
		}
		switch {
		case err == nil: // processClient asked to stop
			if in.clientErr == nil || in.closeAfterDrain {
				in.finish()
			}
			return in.clientErr
		case isTimeout(err) && in.reauthEvery > 0:
			if err := in.maybeReauth(); err != nil {
				return err
			}
		case errors.Is(err, io.EOF):
			in.finish()
			return nil
		case errors.Is(err, errQueryBufferLimit) || errors.Is(err, errRequestBudget):
			in.local(requestMemoryReply(err))
			in.finish()
			return err
		default:
			return err
		}
	}
}

// finish lets the queued replies drain, then ends the session.
func (in *inspector) finish() {
	in.mu.Lock()
	in.closing = true
	empty := in.q.len() == 0
	in.mu.Unlock()
	if empty {
		in.shutdown()
		return
	}
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		in.shutdown()
	}
}

// writeUp writes to the upstream.
func (in *inspector) writeUp(b []byte) error {
	in.cn.sess.BytesIn.Add(int64(len(b)))
	if in.ev != nil {
		return in.ev.up.send(b)
	}
	_, err := in.up.Write(b)
	return err
}

// writeClient writes to the client; mu must be held.
func (in *inspector) writeClient(b []byte) {
	if len(b) == 0 {
		return
	}
	in.gate.Sent(len(b)) // max_bytes_per_second counts replies too (fairshare.go)
	if in.ev != nil {
		if err := in.ev.client.send(b); err != nil && in.ev.werr == nil {
			in.ev.werr = err
		}
		in.cn.sess.BytesOut.Add(int64(len(b)))
		return
	}
	n, _ := in.cn.c.Write(b)
	in.cn.sess.BytesOut.Add(int64(n))
}

// upstreamLoop frames upstream replies and routes each to its pending
// request. Ordinary replies are streamed to the client as they arrive,
// without copying; replies that must be rewritten (INFO, CLIENT LIST,
// pub/sub) or may be out-of-band (RESP3 push, RESP2 subscribed mode) are
// collected whole first.
func (in *inspector) upstreamLoop() error {
	ur := newSockReader(in.up.Conn, in.srv.bufs, in.up.Rest)
	in.up.Rest = nil
	st := newUpState(in.lim, in.srv.reqMem)
	var perr error
	drained := false
	err := ur.Run(func() bool {
		data := ur.Bytes()
		in.mu.Lock()
		perr = in.consume(st, data)
		drained = in.closing && in.q.len() == 0
		if in.waiting {
			in.cond.Broadcast()
		}
		in.mu.Unlock()
		ur.Consume(len(data))
		return perr == nil && !drained
	})
	ur.drop()
	st.acc = nil
	st.release()
	switch {
	case perr != nil:
		in.shutdown()
		return fmt.Errorf("upstream reply: %w", perr)
	case drained:
		in.shutdown()
		return nil
	}
	if in.stopped() {
		return nil // we ended it
	}
	in.mu.Lock()
	if !st.mid && !in.closing {
		in.failPending()
	}
	in.mu.Unlock()
	in.shutdown()
	return fmt.Errorf("upstream read: %w", err)
}
