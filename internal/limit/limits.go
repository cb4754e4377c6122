// Package limit is fair sharing on a shared upstream: per-tenant rate
// limits (token buckets shared by all of a tenant's sessions), size limits
// checked before a command is forwarded, and key and memory quotas sampled
// from the upstream.
//
// The relay asks one question per parsed client command, Gate.Check, and
// tells the gate how many reply bytes it sent the client, Gate.Sent. All
// state lives in a Set, one per proxy process: limits are per replica.
package limit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Limits are one tenant's limits; 0 means unlimited.
type Limits struct {
	OpsPerSecond   int64 // commands per second, all sessions together
	BytesPerSecond int64 // request bytes in, and reply bytes out, per second each
	RequestBytes   int64 // one command's size on the wire
	ValueBytes     int64 // any argument of a command that adds data (Redis's denyoom flag)
	Offset         int64 // the string length SETRANGE, SETBIT or BITFIELD may reach
	Keys           int64 // keys in the tenant's DB (DB-pinned tenants)
	MemoryBytes    int64 // estimated memory of the tenant's keys (DB-pinned tenants)
}

// None reports whether l limits nothing.
func (l Limits) None() bool { return l == Limits{} }

// Quota reports whether l has a quota the sampler must watch.
func (l Limits) Quota() bool { return l.Keys > 0 || l.MemoryBytes > 0 }

// Reasons a command is refused, for metrics.
const (
	ReasonRate = iota
	ReasonRequestBytes
	ReasonValueBytes
	ReasonOffset
	ReasonKeys
	ReasonMemory
	numReasons
)

// ReasonNames are the metric label values of the reasons, by index.
var ReasonNames = [numReasons]string{"rate", "request_bytes", "value_bytes", "offset", "max_keys", "max_memory"}

// Options tune a Set.
type Options struct {
	// MaxDelay bounds how long a command over a rate limit is held back
	// (its session stops reading) before it is refused instead (default 1s).
	MaxDelay time.Duration
	// Burst is how much of a second's rate may be used at once (default
	// 100ms: a tenant with 1000 ops/s may send 100 at once from idle).
	Burst time.Duration
}

// Set is the limit state of one proxy process: one Tenant per tenant name,
// shared by all its sessions.
type Set struct {
	maxDelay, burst int64 // ns
	clock           func() int64

	mu sync.Mutex
	m  map[string]*Tenant
}

// NewSet makes an empty Set.
func NewSet(o Options) *Set {
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Second
	}
	if o.Burst <= 0 {
		o.Burst = 100 * time.Millisecond
	}
	start := time.Now()
	return &Set{
		maxDelay: int64(o.MaxDelay), burst: int64(o.Burst),
		clock: func() int64 { return int64(time.Since(start)) + int64(time.Hour) },
		m:     map[string]*Tenant{},
	}
}

// SetMaxDelay changes the bound on holding a command back (a reload).
func (s *Set) SetMaxDelay(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	s.mu.Lock()
	s.maxDelay = int64(d)
	for _, t := range s.m {
		t.maxDelay.Store(int64(d))
	}
	s.mu.Unlock()
}

// Tenant returns the state of the named tenant, created on first use, with
// its limits set to l (the limits of the route the caller just logged in
// with, which are the current ones).
func (s *Set) Tenant(name string, l Limits) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.m[name]
	if t == nil {
		t = &Tenant{Name: name, set: s}
		t.maxDelay.Store(s.maxDelay)
		s.m[name] = t
	}
	t.setLimits(l)
	return t
}

// Sync applies reloaded limits to every known tenant; lookup says false
// for a tenant that is gone, which is then forgotten (its sessions are
// closed by the reload).
func (s *Set) Sync(lookup func(name string) (Limits, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, t := range s.m {
		l, ok := lookup(name)
		if !ok {
			delete(s.m, name)
			continue
		}
		t.setLimits(l)
	}
}

// Tenants returns every known tenant, for metrics.
func (s *Set) Tenants() []*Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Tenant, 0, len(s.m))
	for _, t := range s.m {
		out = append(out, t)
	}
	return out
}

// lookup returns a known tenant or nil.
func (s *Set) lookup(name string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[name]
}

// Tenant is one tenant's limits, buckets, quota state and counters.
type Tenant struct {
	Name string
	set  *Set
	lim  atomic.Pointer[limits]

	maxDelay               atomic.Int64
	ops, bytesIn, bytesOut bucket

	// quota state, written by the sampler
	keys, memory       atomic.Int64 // last sample; -1 before the first
	overKeys, overMem  atomic.Bool
	sampledAt          atomic.Int64 // unix ns of the last sample
	throttled, delayNs atomic.Int64
	refused            [numReasons]atomic.Int64
}

// limits are Limits with the bucket costs worked out once.
type limits struct {
	Limits
	none   bool  // nothing to check: the hot path returns at once
	sizes  bool  // a size limit or quota is set
	opCost int64 // ns of budget one command uses
}

func (t *Tenant) setLimits(l Limits) {
	c := &limits{Limits: l, none: l.None()}
	c.sizes = l.RequestBytes > 0 || l.ValueBytes > 0 || l.Offset > 0 || l.Quota()
	if l.OpsPerSecond > 0 {
		c.opCost = max(1, int64(time.Second)/l.OpsPerSecond)
	}
	if old := t.lim.Load(); old == nil || old.Quota() != l.Quota() {
		t.keys.Store(-1)
		t.memory.Store(-1)
		t.overKeys.Store(false)
		t.overMem.Store(false)
	}
	t.lim.Store(c)
}

// Limits returns the tenant's current limits.
func (t *Tenant) Limits() Limits { return t.lim.Load().Limits }

// Stats are a tenant's counters for metrics.
type Stats struct {
	Throttled int64         // commands held back by a rate limit
	Delayed   time.Duration // total time they were held back
	Refused   [numReasons]int64
	// Keys and MemoryBytes are the last quota sample (-1: none yet).
	Keys, MemoryBytes int64
	SampledAt         time.Time // zero: never sampled
}

// Stats returns the tenant's counters.
func (t *Tenant) Stats() Stats {
	st := Stats{
		Throttled: t.throttled.Load(), Delayed: time.Duration(t.delayNs.Load()),
		Keys: t.keys.Load(), MemoryBytes: t.memory.Load(),
	}
	for i := range st.Refused {
		st.Refused[i] = t.refused[i].Load()
	}
	if ns := t.sampledAt.Load(); ns != 0 {
		st.SampledAt = time.Unix(0, ns)
	}
	return st
}

// recordQuota stores a sample; -1 leaves a figure unknown.
func (t *Tenant) recordQuota(keys, memory int64, at time.Time) {
	l := t.lim.Load()
	t.keys.Store(keys)
	t.memory.Store(memory)
	t.overKeys.Store(l.Keys > 0 && keys >= l.Keys)
	t.overMem.Store(l.MemoryBytes > 0 && memory >= l.MemoryBytes)
	t.sampledAt.Store(at.UnixNano())
}
