package proxy

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/redoubt-proxy/redoubt/internal/command"
	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// Pub/sub channels are global to a Redis server, not per DB. On a shared
// upstream every channel and pattern a tenant names gets the tenant's
// prefix on the way in ("t:alice:news") and loses it on the way out, so
// two tenants using the same channel name never hear each other, and no
// tenant can reach another's channels (tenant names cannot contain ':').
// Keyspace notification channels of the tenant's own DB are the one
// exception, passed unprefixed; those of other DBs end up prefixed, which
// makes them unreachable.

// subscription commands and which set they change.
var subKinds = map[string]struct {
	kind  uint8
	unsub bool
}{
	"subscribe": {subChannel, false}, "unsubscribe": {subChannel, true},
	"psubscribe": {subPattern, false}, "punsubscribe": {subPattern, true},
	"ssubscribe": {subShard, false}, "sunsubscribe": {subShard, true},
}

// isSubscription is subKinds indexed by command ID, so the check every
// forwarded command goes through is an array read, not a map lookup.
var isSubscription = func() (t [command.MaxID + 1]bool) {
	for name := range subKinds {
		if c := command.ByName(name); c != nil {
			t[c.ID] = true
		}
	}
	return t
}()

// isPubSubCommand reports commands handled by pubsub even on a tenant's own
// upstream (the subscription state must be tracked to frame replies).
func isPubSubCommand(c *command.Command) bool { return isSubscription[c.ID] }

// pubsub forwards a pub/sub command, prefixing channel names when isolated.
// A subscription change waits for the confirmations Redis sends, one per
// name (or, without names, one per subscription then held), or for one
// error; see request and confirm.
func (in *inspector) pubsub(c *command.Command, args [][]byte) {
	if sk, ok := subKinds[c.Name]; ok {
		out := make([][]byte, len(args))
		out[0] = args[0]
		for i := 1; i < len(args); i++ {
			// A copy even when unprefixed: the request keeps the names
			// to check the confirmations, past the read buffer's reuse.
			p := in.addPrefix(args[i])
			if len(p) == len(args[i]) {
				p = append([]byte(nil), p...)
			}
			out[i] = p
		}
		r := request{wait: wConfirm, x: xPubSub, set: sk.kind, op: c.Name, names: out[1:], unsafe: true}
		if sk.unsub && len(args) == 1 {
			r.wait, r.names = wUnsubAll, nil
		}
		in.push(r)
		in.upOut = appendArgs(in.upOut, out...)
		return
	}
	switch c.Name {
	case "publish", "spublish":
		if len(args) != 3 {
			in.send(xNone, args...) // let the server produce its arity error
			return
		}
		in.send(xNone, args[0], in.addPrefix(args[1]), args[2])
	case "pubsub|channels", "pubsub|shardchannels":
		pat := append([]byte(nil), in.prefix...)
		if len(args) > 2 {
			pat = in.addPrefix(args[2])
		} else {
			pat = append(pat, '*')
		}
		in.send(xPubSub, args[0], args[1], pat)
	case "pubsub|numsub", "pubsub|shardnumsub":
		out := [][]byte{args[0], args[1]}
		for _, ch := range args[2:] {
			out = append(out, in.addPrefix(ch))
		}
		in.send(xPubSub, out...)
	case "pubsub|numpat":
		// The server's figure counts every tenant's patterns; answer with
		// the tenant's own (all its sessions on this upstream) instead of
		// leaking others' activity.
		in.local(resp.AppendInt(nil, int64(in.tenantPatterns())))
	default:
		in.deny("ERR '" + c.Name + "' is not supported through redoubt on a shared upstream")
	}
}

// ownKeyspace reports a keyspace-notification channel (or pattern) of the
// tenant's own DB: the literal prefix pins it to that DB.
func (in *inspector) ownKeyspace(ch []byte) bool {
	db := strconv.Itoa(in.db)
	return bytes.HasPrefix(ch, []byte("__keyspace@"+db+"__:")) || bytes.HasPrefix(ch, []byte("__keyevent@"+db+"__:"))
}

func (in *inspector) addPrefix(ch []byte) []byte {
	if in.prefix == nil || in.ownKeyspace(ch) {
		return ch
	}
	return append(append(make([]byte, 0, len(in.prefix)+len(ch)), in.prefix...), ch...)
}

// stripPrefix returns the client's name for an upstream channel, or false
// for a channel that is not this tenant's.
func (in *inspector) stripPrefix(ch []byte) ([]byte, bool) {
	if in.prefix == nil {
		return ch, true
	}
	if bytes.HasPrefix(ch, in.prefix) {
		return ch[len(in.prefix):], true
	}
	return ch, in.ownKeyspace(ch)
}

const (
	evNone = iota
	evMessage
	evConfirm
)

// pubsubEvent classifies a collected message: a published message (out of
// band), a subscription confirmation (the reply to a (P|S)(UN)SUBSCRIBE),
// or neither. In RESP3 both come as push frames. In RESP2 they are plain
// arrays: a message can only come while the connection is subscribed (the
// state follows the confirmations as they arrive, so it is exact at every
// point of the reply stream), and a confirmation only when a subscription
// change waits for one; anywhere else the same array is an ordinary reply
// (LRANGE of a list holding "message", "x", "y").
func (in *inspector) pubsubEvent(v resp.Value, f *request) int {
	if v.Type != resp.TypePush && (v.Type != resp.TypeArray || in.proto3) {
		return evNone
	}
	if len(v.Elems) < 3 || !isStr(v.Elems[0]) {
		return evNone
	}
	name := v.Elems[0].Str
	switch {
	case len(name) >= 7 && (resp.EqualFold(name, "message") || resp.EqualFold(name, "pmessage") || resp.EqualFold(name, "smessage")):
		if v.Type == resp.TypePush || in.subscribedLocked() {
			return evMessage
		}
	case isConfirmName(name):
		if v.Type == resp.TypePush || f != nil && (f.wait == wConfirm || f.wait == wUnsubAll) {
			return evConfirm
		}
	}
	return evNone
}

func isStr(v resp.Value) bool {
	return v.Type == resp.TypeBulk || v.Type == resp.TypeSimple || v.Type == resp.TypeVerbatim
}

func isConfirmName(b []byte) bool {
	for name := range subKinds {
		if resp.EqualFold(b, name) {
			return true
		}
	}
	return false
}

// confirm accounts one subscription confirmation to the request at the
// head, which must be waiting for exactly this one: its kind, and for a
// command with names, the next name in order. The subscription sets change
// here, as the upstream's did when it sent the confirmation, never when
// the command is sent. mu is held.
func (in *inspector) confirm(f *request, v resp.Value, msg []byte) error {
	if f == nil || f.wait != wConfirm && f.wait != wUnsubAll {
		return in.desync(fmt.Sprintf("a %q confirmation came with no subscription change waiting", v.Elems[0].Str))
	}
	if !resp.EqualFold(v.Elems[0].Str, f.op) {
		return in.desync(fmt.Sprintf("%s got a %q confirmation", f.op, v.Elems[0].Str))
	}
	ch := v.Elems[1]
	set := &in.subs[f.set]
	unsub := subKinds[f.op].unsub
	switch {
	case f.wait == wConfirm:
		if len(f.names) == 0 || ch.Null || !bytes.Equal(ch.Str, f.names[0]) {
			return in.desync(fmt.Sprintf("%s got a confirmation for another name", f.op))
		}
		f.names = f.names[1:]
	case ch.Null && len(*set) != 0:
		return in.desync(fmt.Sprintf("%s: the upstream has no subscriptions, the relay counted %d", f.op, len(*set)))
	}
	if !ch.Null {
		if unsub {
			delete(*set, string(ch.Str))
		} else {
			if *set == nil {
				*set = make(map[string]struct{})
			}
			(*set)[string(ch.Str)] = struct{}{}
		}
	}
	in.writeClient(in.rewritePubSubEvent(v, msg, false))
	// Without names, UNSUBSCRIBE ends when the upstream has confirmed the
	// last subscription of its kind (or said it had none).
	if f.wait == wConfirm && len(f.names) == 0 || f.wait == wUnsubAll && len(*set) == 0 {
		in.completed()
	}
	return nil
}

// rewritePubSubEvent strips the prefix from channel and pattern names. A
// message for a channel that is not the tenant's is dropped (nil).
func (in *inspector) rewritePubSubEvent(v resp.Value, msg []byte, message bool) []byte {
	changed := false
	strip := func(i int) bool {
		if i >= len(v.Elems) || v.Elems[i].Null {
			return true
		}
		s, ok := in.stripPrefix(v.Elems[i].Str)
		if len(s) != len(v.Elems[i].Str) {
			v.Elems[i].Str, changed = s, true
		}
		return ok
	}
	ok := strip(1)
	if message && resp.EqualFold(v.Elems[0].Str, "pmessage") {
		ok = strip(2) && ok
	}
	if !ok && message {
		return nil
	}
	if !changed {
		return msg
	}
	return resp.AppendValue(nil, v)
}

// stripReply removes the prefix from the channel names in PUBSUB replies.
func (in *inspector) stripReply(v resp.Value, msg []byte) []byte {
	if in.prefix == nil || len(v.Elems) == 0 {
		return msg
	}
	for i := range v.Elems {
		e := &v.Elems[i]
		if (e.Type == resp.TypeBulk || e.Type == resp.TypeSimple) && bytes.HasPrefix(e.Str, in.prefix) {
			e.Str = e.Str[len(in.prefix):]
		}
	}
	return resp.AppendValue(nil, v)
}
