package view

import (
	"context"
	"time"
)

// Debouncer turns bursts of change notices into one call: the call runs
// delay after the first notice of a burst, so a rollout that touches 50
// Secrets rebuilds the snapshot once, not 50 times.
type Debouncer struct {
	kick  chan struct{}
	delay time.Duration
}

// NewDebouncer makes a debouncer; run it with Run.
func NewDebouncer(delay time.Duration) *Debouncer {
	return &Debouncer{kick: make(chan struct{}, 1), delay: delay}
}

// Notify records a change; it never blocks.
func (d *Debouncer) Notify() {
	select {
	case d.kick <- struct{}{}:
	default: // a call is already due
	}
}

// Run calls fn once per burst of notices until ctx ends.
func (d *Debouncer) Run(ctx context.Context, fn func()) {
	t := time.NewTimer(0)
	if !t.Stop() {
		<-t.C
	}
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.kick:
			t.Reset(d.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			// Notices from the delay are covered by this call: fn reads
			// the state as it is now.
			select {
			case <-d.kick:
			default:
			}
			fn()
		}
	}
}
