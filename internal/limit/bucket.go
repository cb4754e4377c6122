package limit

import (
	"sync/atomic"
	"time"
)

// bucket is a token bucket kept as one number, the generic cell rate
// algorithm's "theoretical arrival time": tat is the clock reading at which
// the bucket would be full again. Using budget moves tat forward by its
// cost; a command may go when tat, after its cost, is no further than the
// burst ahead of now. One atomic word: the sessions of a tenant share it
// without a lock.
type bucket struct{ tat atomic.Int64 }

// take charges cost and returns how long the caller must wait before going
// on. When that would exceed maxWait nothing is charged and ok is false.
// An idle bucket (tat in the past) always admits, however large the cost:
// a single command bigger than the burst goes at once and its cost delays
// the commands after it, rather than being refused for ever.
func (b *bucket) take(now, cost, burst, maxWait int64) (wait int64, ok bool) {
	for {
		tat := b.tat.Load()
		start := max(tat, now)
		next := start + cost
		wait = 0
		if tat > now {
			wait = next - now - burst
			if wait > maxWait {
				return 0, false
			}
		}
		if b.tat.CompareAndSwap(tat, next) {
			return max(wait, 0), true
		}
	}
}

// give returns cost taken by take (the command was refused for another
// reason after all).
func (b *bucket) give(cost int64) { b.tat.Add(-cost) }

// charge uses cost unconditionally: bytes already sent, paid for by the
// commands that come after them.
func (b *bucket) charge(now, cost int64) {
	for {
		tat := b.tat.Load()
		if b.tat.CompareAndSwap(tat, max(tat, now)+cost) {
			return
		}
	}
}

// debt is how long a command must wait for budget already used (charge)
// to be paid back, without charging anything.
func (b *bucket) debt(now, burst int64) int64 {
	return max(b.tat.Load()-now-burst, 0)
}

// byteCost is the budget n bytes use at rate bytes per second. n is at most
// a request's size (bounded by max_bulk_len and the read buffer), so the
// product stays far below overflow.
func byteCost(n int, rate int64) int64 {
	return max(1, int64(n)*int64(time.Second)/rate)
}
