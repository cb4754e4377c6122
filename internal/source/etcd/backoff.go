package etcd

import (
	"math/rand/v2"
	"time"
)

// backoff doubles a delay from lo up to hi, with jitter so that replicas
// that lost etcd together do not return together.
type backoff struct {
	lo, hi, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{lo: lo, hi: hi, cur: lo} }

func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.hi)
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.cur = b.lo }
