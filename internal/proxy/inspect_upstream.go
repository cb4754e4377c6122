package proxy

import (
	"bytes"
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// upstreamLoop frames upstream replies and routes each to its pending
// request. Ordinary replies are streamed to the client as they arrive,
// without copying; replies that must be rewritten (INFO, CLIENT LIST,
// pub/sub) or may be out-of-band (RESP3 push, RESP2 subscribed mode) are
// collected whole first.
func (in *inspector) upstreamLoop() error {
	ur := newSockReader(in.up.Conn, in.srv.bufs, in.up.Rest)
	in.up.Rest = nil
	lim := in.lim
	st := &upState{scan: resp.NewReplyScanner(lim), lim: lim}
	var perr error
	drained := false
	err := ur.Run(func() bool {
		data := ur.Bytes()
		in.mu.Lock()
		perr = in.consume(st, data)
		drained = in.closing && in.q.len() == 0
		in.mu.Unlock()
		ur.Consume(len(data))
		return perr == nil && !drained
	})
	ur.release()
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

// upState is the upstream loop's framing state.
type upState struct {
	scan *resp.ReplyScanner
	lim  resp.Limits
	mid  bool   // inside a message
	full bool   // collecting the current message whole
	acc  []byte // the message being collected
}

// consume handles one chunk of upstream bytes; mu is held.
func (in *inspector) consume(st *upState, data []byte) error {
	run := -1 // start of bytes to stream to the client, not yet written
	flushRun := func(end int) {
		if run >= 0 && end > run {
			in.writeClient(data[run:end])
		}
		run = -1
	}
	i := 0
	for i < len(data) {
		if !st.mid {
			st.mid = true
			st.full = in.needFull(data[i])
		}
		if !st.full && run < 0 {
			run = i
		}
		n, done, err := st.scan.Scan(data[i:])
		if err != nil {
			flushRun(i)
			return err
		}
		if st.full {
			st.acc = append(st.acc, data[i:i+n]...)
		}
		i += n
		if !done {
			continue
		}
		st.mid = false
		if st.full {
			flushRun(i - n)
			in.handleFull(st)
			if cap(st.acc) > 1<<20 {
				st.acc = nil
			} else {
				st.acc = st.acc[:0]
			}
		} else {
			in.replied()
			if f := in.q.front(); f != nil && f.kind == eLocal {
				flushRun(i)
				in.flushLocals()
			}
		}
	}
	flushRun(len(data))
	return nil
}

// needFull decides, at a message's first byte, whether it must be
// collected whole.
func (in *inspector) needFull(t byte) bool {
	if t == resp.TypePush || t == resp.TypeAttribute {
		return true
	}
	if f := in.q.front(); f != nil && (f.kind == eUnsubAll || f.kind == eUpstream && f.x != xNone) {
		return true
	}
	return t == resp.TypeArray && !in.proto3 && in.subscribedLocked()
}

// replied accounts one upstream reply to the head of the queue, then
// writes any local replies now due.
func (in *inspector) replied() {
	f := in.q.front()
	if f == nil || f.kind == eLocal {
		return // an unsolicited reply: nothing waits for it
	}
	if f.kind == eUnsubAll {
		f.kind, f.n = eUpstream, max(1, len(in.subs[f.subKind]))
	}
	f.n--
	if f.n <= 0 {
		in.q.pop()
	}
}

func (in *inspector) flushLocals() {
	for f := in.q.front(); f != nil && f.kind == eLocal; f = in.q.front() {
		in.writeClient(f.local)
		in.q.pop()
	}
}

// failPending answers every waiting request once the upstream is gone at
// a message boundary, so the client sees an error instead of a hang.
func (in *inspector) failPending() {
	for f := in.q.front(); f != nil; f = in.q.front() {
		if f.kind == eLocal {
			in.writeClient(f.local)
		} else if f.x != xSwallow {
			for k := max(f.n, 1); k > 0; k-- {
				in.writeClient(errUpstreamGone)
			}
		}
		in.q.pop()
	}
}

// handleFull routes a collected message.
func (in *inspector) handleFull(st *upState) {
	msg := st.acc
	v, _, err := resp.ParseValue(msg, &st.lim)
	if err != nil {
		// The scanner accepted it, so this cannot happen; pass it on as is.
		in.writeClient(msg)
		in.replied()
		in.flushLocals()
		return
	}
	if kind, ok := in.pubsubEvent(v); ok {
		out := in.rewritePubSubEvent(v, kind, msg)
		in.writeClient(out)
		if kind == evConfirm {
			in.replied()
		}
		in.flushLocals()
		return
	}
	if v.Type == resp.TypePush {
		in.writeClient(msg) // other out-of-band data (client tracking)
		in.flushLocals()
		return
	}
	f := in.q.front()
	x := xNone
	if f != nil && f.kind == eUpstream {
		x = f.x
	}
	switch x {
	case xSwallow:
		if v.Type == resp.TypeError {
			// Injected commands carry the upstream password (re-login).
			in.cn.logger().Warn("upstream refused an injected command", "reply", upstream.RedactReply(v.Str))
		}
	case xReplace:
		in.writeClient(f.local)
	case xInfo:
		in.writeClient(in.filterInfo(v, msg))
	case xClientList:
		in.writeClient(in.filterClientList(v, msg))
	case xPubSub:
		in.writeClient(in.stripReply(v, msg))
	case xKeys:
		if !in.keysStep(v, msg) {
			return // the next step's reply is due
		}
	case xHello:
		if v.Type == resp.TypeMap || v.Type == resp.TypeArray {
			in.proto3 = v.Type == resp.TypeMap
		}
		in.writeClient(msg)
	default:
		in.writeClient(msg)
	}
	in.replied()
	in.flushLocals()
}

// filterInfo sanitizes an INFO reply for a shared tenant (policy.SanitizeInfo:
// only fields that tell nothing about other tenants or the host, and only
// the pinned DB's keyspace line). A verbatim string keeps its "txt:" prefix.
func (in *inspector) filterInfo(v resp.Value, msg []byte) []byte {
	if v.Type != resp.TypeBulk && v.Type != resp.TypeVerbatim {
		return msg
	}
	body, prefix := v.Str, []byte(nil)
	if v.Type == resp.TypeVerbatim && len(body) >= 4 {
		prefix, body = body[:4], body[4:]
	}
	return appendString(nil, v.Type, append(append([]byte(nil), prefix...), policy.SanitizeInfo(body, in.db)...))
}

// filterClientList keeps only the lines of this tenant's own upstream
// connections, identified by the client ids recorded at login.
func (in *inspector) filterClientList(v resp.Value, msg []byte) []byte {
	if v.Type != resp.TypeBulk && v.Type != resp.TypeVerbatim {
		return msg
	}
	ids := in.srv.reg.upstreamIDs(in.cn.sess.Identity().Tenant, in.route.Target.Address)
	var out []byte
	body := v.Str
	prefix := []byte(nil)
	if v.Type == resp.TypeVerbatim && len(body) >= 4 {
		prefix, body = body[:4], body[4:]
	}
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if id, ok := clientLineID(line); ok && ids[id] {
			out = append(out, line...)
		}
	}
	return appendString(nil, v.Type, append(prefix, out...))
}

func clientLineID(line []byte) (int64, bool) {
	if !bytes.HasPrefix(line, []byte("id=")) {
		return 0, false
	}
	var id int64
	for _, c := range line[3:] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id, true
}

// appendString writes s as the same string type it came as ($ or =; a
// verbatim string keeps its 4-byte format prefix inside s).
func appendString(b []byte, t byte, s []byte) []byte {
	if t == resp.TypeVerbatim {
		b = append(b, '=')
		b = fmt.Appendf(b, "%d\r\n", len(s))
		b = append(b, s...)
		return append(b, '\r', '\n')
	}
	return resp.AppendBulk(b, s)
}
