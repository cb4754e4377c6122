package tenant

import (
	"sync"
	"sync/atomic"
	"time"
)

// Usage remembers when each credential last logged in. One Usage lives as
// long as the process and is handed to every directory built, so the
// figures survive snapshot swaps. A login costs one map read and one
// atomic store.
type Usage struct {
	m sync.Map // usageKey -> *atomic.Int64 (Unix nanoseconds)
}

type usageKey struct{ tenant, cred string }

func (u *Usage) touch(tenant, cred string, at time.Time) {
	k := usageKey{tenant, cred}
	v, ok := u.m.Load(k)
	if !ok {
		v, _ = u.m.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(at.UnixNano())
}

// LastUsed returns when a credential last logged in (zero: not since the
// process started).
func (u *Usage) LastUsed(tenant, cred string) time.Time {
	v, ok := u.m.Load(usageKey{tenant, cred})
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, v.(*atomic.Int64).Load())
}

// WithUsage makes d record logins in u. Call it before d is published.
func (d *Directory) WithUsage(u *Usage) *Directory {
	d.usage = u
	return d
}
