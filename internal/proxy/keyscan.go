package proxy

import (
	"strconv"

	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// KEYS without the server stall (fair sharing, docs/policy.md). KEYS walks
// the whole DB in one go and blocks every other client of the server
// meanwhile (measured: 1.2-2.1 s for 1.1 M keys). The relay answers it
// with a SCAN iteration instead: the same keys, in one array reply, while
// the server only ever runs one SCAN COUNT keysScanCount step at a time.
// The session reads no further commands until the iteration is done, so
// nothing else is in flight on its upstream connection between the steps
// and replies keep their order.
//
// Unlike KEYS, the iteration is not atomic: a key added or removed while it
// runs may or may not be in the reply (SCAN's guarantee: keys present for
// the whole iteration are returned). Inside MULTI, KEYS is forwarded as is.

// keysScanCount is SCAN's COUNT per step: measured, another client's worst
// PING during a 1.1 M-key iteration was 5-7 ms at 1000, 10-50 ms at 100
// (more round trips) and 120-220 ms at 10000.
const keysScanCount = "1000"

// keysIter is a KEYS being answered by a SCAN iteration.
type keysIter struct {
	pattern []byte
	seen    map[string]struct{} // SCAN may return a key twice (rehashing)
	body    []byte              // the reply's elements so far
	n       int
	done    chan struct{} // closed when the reply is out (goroutine relay)
	// charged is what the reply under construction holds past
	// collectFree, charged to the request memory budget like a reply the
	// relay collects whole (inspect_replies.go): body, and seen's copy of
	// the keys with its per-entry overhead.
	charged int64
}

// keyEntryCost estimates seen's bytes per key beyond the key itself.
const keyEntryCost = 64

// replyKeysTooLarge answers a KEYS whose reply does not fit the budget.
var replyKeysTooLarge = []byte("-ERR redoubt: the KEYS reply is too large for the gateway now (its memory budget is exhausted); use SCAN\r\n")

// keysScan starts the iteration for KEYS pattern.
func (in *inspector) keysScan(pattern []byte) {
	it := &keysIter{pattern: append([]byte(nil), pattern...), seen: map[string]struct{}{}, done: make(chan struct{})}
	in.mu.Lock()
	in.keys = it
	in.mu.Unlock()
	in.keysBusy.Store(true)
	in.send(xKeys, []byte("SCAN"), []byte("0"), []byte("MATCH"), it.pattern, []byte("COUNT"), []byte(keysScanCount))
}

// keysStep takes one SCAN reply; mu is held. It reports whether the
// iteration is over (its reply written); otherwise it has sent the next
// step and the entry waits for its reply.
func (in *inspector) keysStep(v resp.Value, msg []byte) bool {
	it := in.keys
	cursor, keys, ok := scanReply(v)
	if it == nil || !ok {
		if v.Type == resp.TypeError {
			in.writeClient(msg)
		} else {
			in.writeClient([]byte("-ERR redoubt: unexpected SCAN reply while answering KEYS\r\n"))
		}
		in.keysFinish(it)
		return true
	}
	for _, k := range keys {
		if _, dup := it.seen[string(k.Str)]; dup {
			continue
		}
		it.seen[string(k.Str)] = struct{}{}
		it.body = resp.AppendBulk(it.body, k.Str)
		it.n++
	}
	if !in.chargeKeys(it) {
		in.writeClient(replyKeysTooLarge)
		in.keysFinish(it)
		return true
	}
	if string(cursor) != "0" {
		// The next step; the client side sends nothing meanwhile.
		next := appendArgs(nil, []byte("SCAN"), cursor, []byte("MATCH"), it.pattern, []byte("COUNT"), []byte(keysScanCount))
		if err := in.writeUp(next); err == nil {
			return false
		}
		in.writeClient(errUpstreamGone)
		in.keysFinish(it)
		return true
	}
	var hdr [24]byte
	in.writeClient(resp.AppendArrayHeader(hdr[:0], it.n))
	in.writeClient(it.body)
	in.keysFinish(it)
	return true
}

// chargeKeys charges what the iteration holds past collectFree to the
// request memory budget; false when it does not fit.
func (in *inspector) chargeKeys(it *keysIter) bool {
	c := int64(cap(it.body)) + int64(len(it.body)) + int64(it.n)*keyEntryCost
	if c <= collectFree || c <= it.charged {
		return true
	}
	if !in.cr.mem.reserve(c - it.charged) {
		return false
	}
	it.charged = c
	return true
}

// keysFinish lets the client side go on and gives back the iteration's
// memory; mu is held (or the session is over).
func (in *inspector) keysFinish(it *keysIter) {
	in.keys = nil
	in.keysBusy.Store(false)
	if it != nil {
		in.cr.mem.free(it.charged)
		it.charged, it.body, it.seen = 0, nil, nil
		close(it.done)
	}
}

// scanReply splits SCAN's reply, [cursor, [key...]].
func scanReply(v resp.Value) (cursor []byte, keys []resp.Value, ok bool) {
	if v.Type != resp.TypeArray || len(v.Elems) != 2 || v.Elems[1].Type != resp.TypeArray {
		return nil, nil, false
	}
	c := v.Elems[0]
	if c.Type != resp.TypeBulk {
		return nil, nil, false
	}
	if _, err := strconv.ParseUint(string(c.Str), 10, 64); err != nil {
		return nil, nil, false
	}
	return c.Str, v.Elems[1].Elems, true
}

// holdForKeys keeps the client side from sending anything while a KEYS
// iteration runs. On a goroutine it waits here (after sending what came
// before); on an event loop it reports true and the caller stops parsing
// until the loop resumes the session (resumeLimited).
func (in *inspector) holdForKeys() bool {
	if !in.keysBusy.Load() {
		return false
	}
	if in.ev != nil {
		in.held = true
		return true
	}
	in.mu.Lock()
	it := in.keys
	in.mu.Unlock()
	in.flushUp()
	if it != nil {
		select {
		case <-it.done:
		case <-in.done:
		}
	}
	return false
}
