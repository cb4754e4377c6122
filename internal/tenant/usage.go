package tenant

import (
	"sync"
	"sync/atomic"
	"time"
)

// Usage remembers when each credential last logged in. One Usage lives as
// long as the process and is handed to every directory built, so the
// figures survive snapshot swaps. Each built credential holds its own
// counter, so a login costs one atomic store and no map lookup.
type Usage struct {
	m sync.Map // usageKey -> *atomic.Int64 (Unix nanoseconds)
}

type usageKey struct{ tenant, cred string }

// counter returns the last-use counter of a credential, made on first use.
func (u *Usage) counter(tenant, cred string) *atomic.Int64 {
	k := usageKey{tenant, cred}
	v, ok := u.m.Load(k)
	if !ok {
		v, _ = u.m.LoadOrStore(k, new(atomic.Int64))
	}
	return v.(*atomic.Int64)
}

// LastUsed returns when a credential last logged in (zero: not since the
// process started).
func (u *Usage) LastUsed(tenant, cred string) time.Time {
	v, ok := u.m.Load(usageKey{tenant, cred})
	if !ok {
		return time.Time{}
	}
	n := v.(*atomic.Int64).Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
