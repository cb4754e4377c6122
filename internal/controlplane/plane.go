// Package controlplane owns who may log in and where their sessions go
// while redoubt runs: it loads the sources (the configuration file, the
// embedded store, and later Kubernetes and etcd), merges their parts into
// one snapshot, builds the gateway's directory from it and swaps it in,
// ending the sessions a change invalidates. The admin API and the CLI
// change run-time tenants and credentials through it.
package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// State is one built snapshot: the merged model and the directory made
// from it. Both are immutable.
type State struct {
	Snapshot  *model.Snapshot
	Directory *tenant.Directory
	Built     time.Time
	// Generation counts the states built by this Plane: 1 for the first,
	// +1 per rebuild (probes and metrics: 0 means none built yet).
	Generation uint64
}

// Options configure a Plane.
type Options struct {
	// Sources in precedence order: file, then store or etcd, then
	// Kubernetes. A tenant name defined by an earlier source wins.
	Sources []model.Source
	// Store receives the admin API's writes; nil = the API cannot create
	// tenants or credentials. It must also be one of Sources.
	Store model.Store
	// Creds makes upstream credentials (AWS IAM needs process-wide
	// providers); nil = static passwords only.
	Creds tenant.CredsFunc
	// Managed gives the logins of managed per-tenant upstream users
	// (tenant_users: managed; tenantuser.Manager's Credentials). Apply
	// keeps the users themselves in step with each state (Manager.Sync).
	Managed tenant.ManagedCredsFunc
	// Apply installs a new state in the gateway and returns how many live
	// sessions it ended. It is called with states in order, never
	// concurrently.
	Apply func(*State) int
	// Sweep ends live sessions the current state no longer allows (expiry),
	// every SweepEvery (default 250ms); nil = no sweep.
	Sweep      func(*State) int
	SweepEvery time.Duration
	Log        *slog.Logger
	Now        func() time.Time
}

// Plane merges sources into snapshots and swaps them in.
type Plane struct {
	o   Options
	log *slog.Logger
	cur atomic.Pointer[State]

	mu       sync.Mutex // one rebuild at a time; holds parts
	parts    []model.SourcePart
	loaded   []bool
	problems map[string]bool // problems already logged
	metrics  planeMetrics
	usage    tenant.Usage // last use of each credential, across swaps
	gen      uint64       // generation of the last state built

	statusMu sync.Mutex     // guards status; never held across a Load
	status   []SourceStatus // per source, in Sources order
}

// SourceStatus is one source's last load, for the probes and metrics.
type SourceStatus struct {
	Name   string
	LastOK time.Time // zero: never loaded
	Err    error     // nil: the last load succeeded
}

type planeMetrics struct {
	rebuilds, sourceErrors atomic.Int64
	problems               atomic.Int64 // entries left out of the current snapshot
	lastBuild              atomic.Int64 // nanoseconds the last merge+build took
}

// New makes a plane; call Load, then Run.
func New(o Options) *Plane {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 250 * time.Millisecond
	}
	p := &Plane{o: o, log: o.Log, problems: map[string]bool{}}
	p.parts = make([]model.SourcePart, len(o.Sources))
	p.loaded = make([]bool, len(o.Sources))
	p.status = make([]SourceStatus, len(o.Sources))
	for i, s := range o.Sources {
		p.parts[i].Source = s.Name()
		p.status[i].Name = s.Name()
	}
	return p
}

// Load reads every source and builds the first state. Any source that
// cannot be read at start is an error: the process should not serve a
// partial view it never had a good copy of.
func (p *Plane) Load(ctx context.Context) (*State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.o.Sources {
		part, err := s.Load(ctx)
		p.loadedSource(i, err)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.Name(), err)
		}
		p.parts[i].Part, p.loaded[i] = part, true
	}
	return p.rebuildLocked("start", false)
}

// Current is the state in force.
func (p *Plane) Current() *State { return p.cur.Load() }

// Stats are the control plane's figures for the metrics.
type Stats struct {
	Rebuilds, SourceErrors int64
	Problems               int64         // entries left out of the current snapshot
	LastBuild              time.Duration // merge + build + apply of the last rebuild
	ProblemsBySource       map[string]int
}

// Stats returns the current figures.
func (p *Plane) Stats() Stats {
	st := Stats{Rebuilds: p.metrics.rebuilds.Load(), SourceErrors: p.metrics.sourceErrors.Load(),
		Problems: p.metrics.problems.Load(), LastBuild: time.Duration(p.metrics.lastBuild.Load()),
		ProblemsBySource: map[string]int{}}
	if cur := p.cur.Load(); cur != nil {
		for _, pr := range cur.Snapshot.Problems {
			st.ProblemsBySource[pr.Source]++
		}
	}
	return st
}

// LastUsed returns when a tenant's credential last logged in (zero: not
// since the process started).
func (p *Plane) LastUsed(tenantName, credID string) time.Time {
	return p.usage.LastUsed(tenantName, credID)
}

// Sources returns each source's last load (a copy).
func (p *Plane) Sources() []SourceStatus {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	return append([]SourceStatus(nil), p.status...)
}

func (p *Plane) loadedSource(i int, err error) {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	p.status[i].Err = err
	if err == nil {
		p.status[i].LastOK = p.o.Now()
	}
}

// Store is where the admin API writes (nil without one).
func (p *Plane) Store() model.Store { return p.o.Store }

// Run reloads a source whenever it signals a change, runs the sources
// that watch something, and sweeps expired sessions, until ctx ends.
func (p *Plane) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, s := range p.o.Sources {
		if r, ok := s.(model.Runner); ok {
			wg.Add(1)
			go func() { defer wg.Done(); r.Run(ctx) }()
		}
		ch := s.Changed()
		if ch == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-ch:
					p.Refresh(ctx, i, "changed")
				}
			}
		}()
	}
	if p.o.Sweep != nil {
		tick := time.NewTicker(p.o.SweepEvery)
		defer tick.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-tick.C:
				if st := p.cur.Load(); st != nil {
					if n := p.o.Sweep(st); n > 0 {
						p.log.Info("sessions ended at expiry", "sessions_closed", n)
					}
				}
			}
		}
	}
	wg.Wait()
}

// Refresh loads source i again and swaps in a new state. A source that
// fails keeps its last good part; the error is logged and counted.
func (p *Plane) Refresh(ctx context.Context, i int, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refreshLocked(ctx, i, why)
}

func (p *Plane) refreshLocked(ctx context.Context, i int, why string) {
	s := p.o.Sources[i]
	// A signal that came before this Load is covered by it.
	if ch := s.Changed(); ch != nil {
		select {
		case <-ch:
		default:
		}
	}
	part, err := s.Load(ctx)
	p.loadedSource(i, err)
	if err != nil {
		p.metrics.sourceErrors.Add(1)
		p.log.Error("reload refused, keeping the running configuration", "source", s.Name(), "why", why, "err", err)
		return
	}
	if part.Version != 0 && p.loaded[i] && part.Version == p.parts[i].Part.Version {
		return // already merged (an API call refreshed it before this signal)
	}
	prevPart, prevLoaded := p.parts[i].Part, p.loaded[i]
	p.parts[i].Part, p.loaded[i] = part, true
	// A file reload builds everything anew (CA files are read again);
	// other changes reuse what did not change.
	if _, err := p.rebuildLocked(s.Name()+" "+why, s.Name() != model.SourceFile); err != nil {
		// The part that could not be built is not kept: the next change
		// of another source must not trip over it again.
		p.parts[i].Part, p.loaded[i] = prevPart, prevLoaded
		p.metrics.sourceErrors.Add(1)
		p.log.Error("reload refused, keeping the running configuration", "source", s.Name(), "why", why, "err", err)
	}
}

// rebuildLocked merges the parts, builds a directory and applies it.
func (p *Plane) rebuildLocked(why string, reuse bool) (*State, error) {
	start := time.Now()
	parts := make([]model.SourcePart, 0, len(p.parts))
	for i, sp := range p.parts {
		if p.loaded[i] {
			parts = append(parts, sp)
		}
	}
	snap := model.Merge(parts, Checks())
	var prev *tenant.Directory
	if cur := p.cur.Load(); cur != nil && reuse {
		prev = cur.Directory
	}
	dir, err := tenant.BuildWith(snap, tenant.Options{Prev: prev, Usage: &p.usage, Creds: p.o.Creds, Now: p.o.Now, Managed: p.o.Managed})
	if err != nil {
		return nil, err
	}
	p.gen++
	st := &State{Snapshot: snap, Directory: dir, Built: p.o.Now(), Generation: p.gen}
	p.cur.Store(st)
	closed := 0
	if p.o.Apply != nil {
		closed = p.o.Apply(st)
	}
	p.metrics.rebuilds.Add(1)
	p.metrics.lastBuild.Store(int64(time.Since(start)))
	p.reportProblems(snap)
	msg := "configuration reloaded"
	if why == "start" {
		msg = "configuration loaded"
	}
	p.log.Info(msg, "why", why, "tenants", len(snap.Tenants), "problems", len(snap.Problems),
		"sessions_closed", closed, "took", time.Since(start).Round(time.Microsecond))
	return st, nil
}

// reportProblems logs each left-out entry once (not again on every
// rebuild while it stays bad) and keeps the count for the metrics.
func (p *Plane) reportProblems(snap *model.Snapshot) {
	now := make(map[string]bool, len(snap.Problems))
	for _, pr := range snap.Problems {
		key := pr.Error()
		now[key] = true
		if !p.problems[key] {
			p.log.Warn("entry left out of the snapshot", "source", pr.Source, "entry", pr.Entry, "path", pr.Path, "problem", pr.Msg)
		}
	}
	p.problems = now
	p.metrics.problems.Store(int64(len(snap.Problems)))
}

// refreshStoreLocked reloads the store source after a write, so the
// caller's answer is sent once the change is in force (a revoked
// credential's sessions have ended).
func (p *Plane) refreshStoreLocked(ctx context.Context) {
	for i, s := range p.o.Sources {
		if s == model.Source(p.o.Store) {
			p.refreshLocked(ctx, i, "admin change")
			return
		}
	}
}
