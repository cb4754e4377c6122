package view

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are a source's health figures, read by the metrics collector and
// /readyz. The source updates them; everything else only reads.
type Stats struct {
	// Source is the metric label: "kubernetes" or "etcd".
	Source string

	generation atomic.Uint64
	lastSync   atomic.Int64 // unix nanoseconds of the last successful sync
	errors     atomic.Uint64
	entries    atomic.Int64
	stale      atomic.Bool

	mu       sync.Mutex
	rejected []Rejection
}

// Published records a new view: one more generation, synced now.
func (s *Stats) Published(v *View, now time.Time) {
	s.generation.Add(1)
	s.entries.Store(int64(len(v.Tenants)))
	s.lastSync.Store(now.UnixNano())
	s.stale.Store(false)
	s.mu.Lock()
	s.rejected = append([]Rejection(nil), v.Rejected...)
	s.mu.Unlock()
}

// Synced records a successful contact that changed nothing.
func (s *Stats) Synced(now time.Time) {
	s.lastSync.Store(now.UnixNano())
	s.stale.Store(false)
}

// Error counts a failed list, watch or connection.
func (s *Stats) Error() { s.errors.Add(1) }

// SetStale says whether the source has been out of touch for longer than
// its configured limit (its last good view keeps serving meanwhile).
func (s *Stats) SetStale(v bool) { s.stale.Store(v) }

// Snapshot is a copy of the figures.
type Snapshot struct {
	Source     string
	Generation uint64
	LastSync   time.Time // zero before the first sync
	Entries    int64
	Errors     uint64
	Stale      bool
	Rejected   []Rejection
}

// Read returns the current figures.
func (s *Stats) Read() Snapshot {
	out := Snapshot{
		Source:     s.Source,
		Generation: s.generation.Load(),
		Entries:    s.entries.Load(),
		Errors:     s.errors.Load(),
		Stale:      s.stale.Load(),
	}
	if ns := s.lastSync.Load(); ns != 0 {
		out.LastSync = time.Unix(0, ns)
	}
	s.mu.Lock()
	out.Rejected = append([]Rejection(nil), s.rejected...)
	s.mu.Unlock()
	return out
}
