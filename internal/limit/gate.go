package limit

import (
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// Gate is one session's view of its tenant's limits. It is used by the
// session's client side only (Check) and its reply side (Sent), and keeps
// one flag of its own: whether the command it last asked to wait for has
// already been charged, so the relay can ask again for the same command
// after the wait.
type Gate struct {
	t    *Tenant
	paid bool
}

// Gate returns a gate for a new session of the named tenant, whose route
// carries limits l.
func (s *Set) Gate(tenant string, l Limits) *Gate {
	return &Gate{t: s.Tenant(tenant, l)}
}

// Tenant returns the gate's tenant.
func (g *Gate) Tenant() *Tenant { return g.t }

// Verdict is the answer for one command: go on (the zero value), wait
// (stop reading the client for Wait, then ask again for the same command),
// or refuse with the Redis error reply Refuse in the command's place.
type Verdict struct {
	Wait   time.Duration
	Refuse []byte
}

// Check decides one parsed command: c is its table entry (nil for an
// unknown command), args its arguments with the name first, size its
// length on the wire. Size limits and quotas come first, so a command that
// is refused anyway costs no rate budget. Check does not allocate unless it
// refuses with a message that names figures.
func (g *Gate) Check(c *command.Command, args [][]byte, size int) Verdict {
	l := g.t.lim.Load()
	if l.none {
		return Verdict{}
	}
	if l.sizes {
		if reason, msg := checkSize(l, c, args, size); msg != nil {
			g.t.refused[reason].Add(1)
			return Verdict{Refuse: msg}
		}
		if c != nil && c.Flags.Has(command.FlagDenyoom) {
			if msg := g.t.quotaRefusal(l); msg != nil {
				return Verdict{Refuse: msg}
			}
		}
	}
	if l.opCost == 0 && l.BytesPerSecond == 0 {
		return Verdict{}
	}
	if g.paid {
		g.paid = false // charged before the wait that just ended
		return Verdict{}
	}
	return g.rate(l, size)
}

// rate charges the tenant's buckets for one command of size bytes.
func (g *Gate) rate(l *limits, size int) Verdict {
	t, s := g.t, g.t.set
	now, burst, maxWait := s.clock(), s.burst, t.maxDelay.Load()
	var wait int64
	if l.opCost > 0 {
		w, ok := t.ops.take(now, l.opCost, burst, maxWait)
		if !ok {
			return t.refuseRate()
		}
		wait = w
	}
	if l.BytesPerSecond > 0 {
		cost := byteCost(size, l.BytesPerSecond)
		w, ok := t.bytesIn.take(now, cost, burst, maxWait)
		if !ok || t.bytesOut.debt(now, burst) > maxWait {
			if ok {
				t.bytesIn.give(cost)
			}
			if l.opCost > 0 {
				t.ops.give(l.opCost)
			}
			return t.refuseRate()
		}
		wait = max(wait, w, t.bytesOut.debt(now, burst))
	}
	if wait <= 0 {
		return Verdict{}
	}
	g.paid = true
	t.throttled.Add(1)
	t.delayNs.Add(wait)
	return Verdict{Wait: time.Duration(wait)}
}

// Sent records n reply bytes written to the client.
func (g *Gate) Sent(n int) {
	if g == nil {
		return
	}
	l := g.t.lim.Load()
	if l.BytesPerSecond == 0 || n <= 0 {
		return
	}
	g.t.bytesOut.charge(g.t.set.clock(), byteCost(n, l.BytesPerSecond))
}

var replyRate = []byte("-ERR redoubt: this tenant is over its rate limit (max_ops_per_second or max_bytes_per_second); try again later\r\n")

func (t *Tenant) refuseRate() Verdict {
	t.refused[ReasonRate].Add(1)
	return Verdict{Refuse: replyRate}
}

// Off reports whether the tenant has no limits at all, so the caller can
// skip even looking the command up.
// A nil gate (a relay built without limits, as in tests) is off.
func (g *Gate) Off() bool { return g == nil || g.t.lim.Load().none }

// Oversize reports whether n bytes of one command already exceed the
// tenant's max_request_bytes, so the command is refused however it ends.
func (g *Gate) Oversize(n int) bool {
	if g == nil {
		return false
	}
	l := g.t.lim.Load()
	return l.RequestBytes > 0 && int64(n) > l.RequestBytes
}

// RefuseOversize counts and returns the refusal of a command of size bytes
// that was dropped unread for exceeding max_request_bytes.
func (g *Gate) RefuseOversize(size int64) []byte {
	l := g.t.lim.Load()
	g.t.refused[ReasonRequestBytes].Add(1)
	return tooBig("request of ", size, " bytes is over this tenant's max_request_bytes", l.RequestBytes)
}
