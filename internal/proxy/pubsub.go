package proxy

import (
	"bytes"
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
func (in *inspector) pubsub(c *command.Command, args [][]byte) {
	if sk, ok := subKinds[c.Name]; ok {
		out := make([][]byte, len(args))
		out[0] = args[0]
		for i := 1; i < len(args); i++ {
			out[i] = in.addPrefix(args[i])
		}
		in.mu.Lock()
		if sk.unsub && len(args) == 1 {
			in.q.push(pending{kind: eUnsubAll, subKind: sk.kind, x: xPubSub, unsafe: true})
		} else {
			in.q.push(pending{kind: eUpstream, n: len(args) - 1, x: xPubSub, unsafe: true})
		}
		in.mu.Unlock()
		in.upOut = appendArgs(in.upOut, out...)
		return
	}
	switch c.Name {
	case "publish", "spublish":
		if len(args) != 3 {
			in.send(xNone, 1, args...) // let the server produce its arity error
			return
		}
		in.send(xNone, 1, args[0], in.addPrefix(args[1]), args[2])
	case "pubsub|channels", "pubsub|shardchannels":
		pat := append([]byte(nil), in.prefix...)
		if len(args) > 2 {
			pat = in.addPrefix(args[2])
		} else {
			pat = append(pat, '*')
		}
		in.send(xPubSub, 1, args[0], args[1], pat)
	case "pubsub|numsub", "pubsub|shardnumsub":
		out := [][]byte{args[0], args[1]}
		for _, ch := range args[2:] {
			out = append(out, in.addPrefix(ch))
		}
		in.send(xPubSub, 1, out...)
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
	evMessage = iota + 1
	evConfirm
)

// pubsubEvent classifies a collected message as a pub/sub event: a
// published message (out of band) or a subscription confirmation (the
// reply to a (P|S)(UN)SUBSCRIBE).
func (in *inspector) pubsubEvent(v resp.Value) (int, bool) {
	if v.Type != resp.TypePush {
		if v.Type != resp.TypeArray || in.proto3 {
			return 0, false
		}
		f := in.q.front()
		expecting := f != nil && (f.kind == eUnsubAll || f.kind == eUpstream && f.x == xPubSub)
		if !in.subscribedLocked() && !expecting {
			return 0, false
		}
	}
	if len(v.Elems) < 3 {
		return 0, false
	}
	switch string(bytes.ToLower(v.Elems[0].Str)) {
	case "message", "pmessage", "smessage":
		return evMessage, true
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe":
		return evConfirm, true
	}
	return 0, false
}

// rewritePubSubEvent updates the subscription sets from a confirmation and
// strips the prefix from channel and pattern names. A message for a
// channel that is not the tenant's is dropped (returns nil).
func (in *inspector) rewritePubSubEvent(v resp.Value, kind int, msg []byte) []byte {
	name := string(bytes.ToLower(v.Elems[0].Str))
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
	if name == "pmessage" {
		ok = strip(2) && ok
	}
	if kind == evConfirm {
		sk := subKinds[name]
		if !v.Elems[1].Null {
			set := in.subs[sk.kind]
			if sk.unsub {
				delete(set, string(v.Elems[1].Str))
			} else {
				if set == nil {
					set = make(map[string]struct{})
					in.subs[sk.kind] = set
				}
				set[string(v.Elems[1].Str)] = struct{}{}
			}
		}
	}
	if !ok && kind == evMessage {
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
