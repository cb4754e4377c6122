package proxy

import (
	"bytes"
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// upState is the upstream loop's framing state.
type upState struct {
	scan *resp.ReplyScanner
	lim  resp.Limits // for the messages collected whole
	mid  bool        // inside a message
	full bool        // collecting the current message whole
	acc  []byte      // the message being collected
	// mem is charged for acc past collectFree (charged bytes).
	mem     *memBudget
	charged int64
}

// maxCollectedElems bounds the elements of a reply collected whole and
// decoded (a resp.Value per element): replies streamed through are not
// decoded, and take any count Redis sends.
const maxCollectedElems = 1 << 20

func newUpState(lim resp.Limits, mem *memBudget) *upState {
	st := &upState{scan: resp.NewReplyScanner(lim), lim: lim, mem: mem}
	st.lim.MaxArrayLen = maxCollectedElems
	return st
}

// collectFree is how much of a collected reply is not charged to the
// request budget: part of a session's baseline.
const collectFree = 1 << 20

// charge charges a collected reply past collectFree to the memory budget
// (a tenant can make one large: a RESP3 push of a message it published);
// false when it does not fit.
func (st *upState) charge() bool {
	c := int64(cap(st.acc))
	if c <= collectFree || c <= st.charged {
		return true
	}
	if !st.mem.reserve(c - st.charged) {
		return false
	}
	st.charged = c
	return true
}

// release gives back what charge charged.
func (st *upState) release() {
	if st.charged > 0 {
		st.mem.free(st.charged)
		st.charged = 0
	}
}

// replyTooLargeMsg is what the client hears when a reply the relay must
// hold whole does not fit the memory budget.
var replyTooLargeMsg = []byte("-ERR reply too large for the gateway now: its memory budget is exhausted, closing the connection\r\n")

// replyTooLarge ends the session over a reply that does not fit.
func (in *inspector) replyTooLarge() error {
	in.cn.logger().Warn("reply does not fit the request memory budget, ending the session")
	in.writeClient(replyTooLargeMsg)
	return errRequestBudget
}

// errDesync is a reply that cannot be matched to its request. The session
// ends: a guess could hand one request's reply, unfiltered, to another.
type errDesync struct{ why string }

func (e *errDesync) Error() string { return "reply out of step with its request: " + e.why }

// replyDesync is what the client hears before the session closes.
var replyDesync = []byte("-ERR redoubt: upstream reply out of step with its request; closing the connection\r\n")

// desync reports a reply that matches no request: logged, answered with
// an error, and the session ends without forwarding that reply.
func (in *inspector) desync(why string) error {
	in.cn.logger().Error("reply desync, ending the session", "why", why)
	in.writeClient(replyDesync)
	return &errDesync{why: why}
}

// consume handles one chunk of upstream bytes; mu is held.
//
// Replies to plain requests are streamed to the client as they arrive,
// without copying. A reply is collected whole first when it may be out of
// band (a push, or an array in RESP2 subscribed mode), when its request
// rewrites it or learns from it, and when nothing waits for it (a desync).
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
			if !st.charge() {
				return in.replyTooLarge()
			}
		}
		i += n
		if !done {
			continue
		}
		st.mid = false
		if st.full {
			flushRun(i - n)
			err := in.routeFull(st)
			if cap(st.acc) > collectFree {
				st.acc = nil
				st.release()
			} else {
				st.acc = st.acc[:0]
			}
			if err != nil {
				return err
			}
		} else {
			// needFull saw a plain request at the head, which only this
			// loop pops: the reply is complete, so is the request.
			in.popDone()
			if f := in.q.front(); f != nil && f.wait == wLocal {
				flushRun(i)
				in.flushLocals()
			}
		}
	}
	flushRun(len(data))
	return nil
}

// needFull decides, at a message's first byte, whether it must be
// collected whole: anything but the plain reply of a plain request.
func (in *inspector) needFull(t byte) bool {
	if t == resp.TypePush || t == resp.TypeAttribute {
		return true
	}
	f := in.q.front()
	if f == nil || f.wait != wReply || f.x != xNone {
		return true
	}
	return t == resp.TypeArray && !in.proto3 && in.subscribedLocked()
}

// completed pops the head request and writes the local replies now due.
func (in *inspector) completed() {
	in.popDone()
	in.flushLocals()
}

func (in *inspector) flushLocals() {
	for f := in.q.front(); f != nil && f.wait == wLocal; f = in.q.front() {
		in.writeClient(f.local)
		in.q.pop()
	}
}

// failPending answers every waiting request once the upstream is gone at
// a message boundary, so the client sees an error instead of a hang.
func (in *inspector) failPending() {
	for f := in.q.front(); f != nil; f = in.q.front() {
		if f.wait == wLocal {
			in.writeClient(f.local)
		} else if f.x != xSwallow {
			in.writeClient(errUpstreamGone)
		}
		in.q.pop()
	}
}

// routeFull matches a collected message to its request, or passes it on
// out of band. This is the one place where the reply side decides.
func (in *inspector) routeFull(st *upState) error {
	msg := st.acc
	v, _, err := resp.ParseValue(msg, &st.lim)
	if err != nil {
		return fmt.Errorf("reply the scanner accepted does not parse: %w", err)
	}
	f := in.q.front()
	ev := in.pubsubEvent(v, f)
	switch {
	case ev == evMessage:
		in.writeClient(in.rewritePubSubEvent(v, msg, true))
		return nil
	case ev == evConfirm:
		return in.confirm(f, v, msg)
	case v.Type == resp.TypePush:
		in.writeClient(msg) // other out-of-band data (client tracking)
		return nil
	case f == nil:
		return in.desync("a reply came with no request waiting")
	case f.wait == wConfirm || f.wait == wUnsubAll:
		if isError(v) {
			// One error answers the whole command (arity, ACL channel
			// permissions, a refusal in RESP2 subscribed mode).
			in.writeClient(msg)
			in.completed()
			return nil
		}
		return in.desync(fmt.Sprintf("%s waits for confirmations, got a %q reply", f.op, v.Type))
	}
	// A request waiting for one reply.
	if f.x != xNone && f.x != xHello && !f.multi && isQueued(v) {
		// The upstream is in a transaction the relay did not see: the
		// real reply would come inside EXEC's array, past the filter.
		return in.desync("+QUEUED outside a transaction")
	}
	switch f.x {
	case xSwallow:
		if isError(v) {
			// Injected commands carry the upstream password (re-login).
			in.cn.logger().Warn("upstream refused an injected command", "reply", upstream.RedactReply(v.Str))
		}
	case xReplace:
		in.writeClient(f.local)
	case xInfo, xClientList:
		if isError(v) {
			in.writeClient(msg)
			break
		}
		if v.Type != resp.TypeBulk && v.Type != resp.TypeVerbatim {
			return in.desync(fmt.Sprintf("a filtered reply is a %q, not a string", v.Type))
		}
		if f.x == xInfo {
			in.writeClient(in.filterInfo(v))
		} else {
			in.writeClient(in.filterClientList(v))
		}
	case xPubSub:
		in.writeClient(in.stripReply(v, msg))
	case xKeys:
		if !in.keysStep(v, msg) {
			return nil // keysStep sent the next SCAN; the request waits for its reply
		}
	case xHello:
		if v.Type == resp.TypeMap || v.Type == resp.TypeArray {
			in.proto3 = v.Type == resp.TypeMap
		}
		in.writeClient(msg)
	case xReset:
		if v.Type == resp.TypeSimple && string(v.Str) == "RESET" {
			// The upstream connection is back to RESP2 with no
			// subscriptions. Confirmations sent before RESET arrived
			// before this reply, so they cannot re-add anything.
			in.proto3 = false
			for i := range in.subs {
				in.subs[i] = nil
			}
		}
		in.writeClient(msg)
	default:
		in.writeClient(msg)
	}
	in.completed()
	return nil
}

func isError(v resp.Value) bool { return v.Type == resp.TypeError || v.Type == resp.TypeBlobError }

func isQueued(v resp.Value) bool { return v.Type == resp.TypeSimple && string(v.Str) == "QUEUED" }

// filterInfo sanitizes an INFO reply for a shared tenant (policy.SanitizeInfo:
// only fields that tell nothing about other tenants or the host, and only
// the pinned DB's keyspace line). A verbatim string keeps its "txt:" prefix.
func (in *inspector) filterInfo(v resp.Value) []byte {
	body, prefix := v.Str, []byte(nil)
	if v.Type == resp.TypeVerbatim && len(body) >= 4 {
		prefix, body = body[:4], body[4:]
	}
	return appendString(nil, v.Type, append(append([]byte(nil), prefix...), policy.SanitizeInfo(body, in.db)...))
}

// filterClientList keeps only the lines of this tenant's own upstream
// connections, identified by the client ids recorded at login.
func (in *inspector) filterClientList(v resp.Value) []byte {
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
