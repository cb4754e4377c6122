package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// Probe defaults (cloud-sql-proxy's model: startup, liveness, readiness).
const (
	DefaultUnreadyAfter  = 30 * time.Second
	DefaultProbeInterval = 5 * time.Second
	probeDialTimeout     = 2 * time.Second
)

// SourceStatus is a credential source's last sync, for /readyz and the
// source metrics.
type SourceStatus struct {
	Name   string
	LastOK time.Time // zero: never synced
	Err    error     // nil: the last sync succeeded
	// Local marks the configuration file: a refused reload keeps the
	// running view, and one bad edit of a shared file must not take every
	// replica out of service, so it never makes /readyz fail (the metrics
	// and the stale-source alert still show it).
	Local bool
}

// Certificate is a listener's certificate expiry, for the alert.
type Certificate struct {
	Listener string
	NotAfter time.Time
}

// health answers the probes.
//
//	/startup  503 until the listeners are up and the first snapshot is built
//	/livez    200 while the process serves HTTP (a wedged process gets restarted)
//	/readyz   503 while draining, when a credential source has failed for
//	          longer than UnreadyAfter, or when the upstreams of every
//	          tenant have been unreachable for longer than UnreadyAfter
//
// Upstream reachability is dialed (TCP only, no login) every probe
// interval by a background loop: a passive view from sessions' dials
// would go stale once an unready replica stops getting clients.
type health struct {
	p       *proxy.Server
	o       *Options
	started atomic.Bool
	now     func() time.Time

	mu        sync.Mutex
	upstreams map[string]*upState
	stop      context.CancelFunc
	done      chan struct{}
}

type upState struct {
	ok        bool
	downSince time.Time // first failed dial of the current run of failures
}

func newHealth(p *proxy.Server, o *Options) *health {
	return &health{p: p, o: o, now: time.Now, upstreams: map[string]*upState{}}
}

// startupComplete: the caller said the listeners are up (SetStarted) and
// the first snapshot is built (generation 1 or more, when a snapshot
// source is wired).
func (h *health) startupComplete() bool {
	if !h.started.Load() {
		return false
	}
	if h.o.Snapshot != nil {
		if gen, _ := h.o.Snapshot(); gen == 0 {
			return false
		}
	}
	return true
}

func (h *health) unreadyAfter() time.Duration {
	if h.o.UnreadyAfter > 0 {
		return h.o.UnreadyAfter
	}
	return DefaultUnreadyAfter
}

// run dials the upstreams every interval until Close.
func (h *health) run() {
	if h.o.Upstreams == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	every := h.o.ProbeInterval
	if every <= 0 {
		every = DefaultProbeInterval
	}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			h.probeUpstreams(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (h *health) close() {
	if h.stop != nil {
		h.stop()
		<-h.done
	}
}

// probeUpstreams dials every upstream at once and records the outcome.
func (h *health) probeUpstreams(ctx context.Context) {
	targets := h.o.Upstreams()
	var wg sync.WaitGroup
	results := make(map[string]bool, len(targets))
	var mu sync.Mutex
	for name, addr := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: probeDialTimeout}
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			mu.Lock()
			results[name] = err == nil
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range h.upstreams {
		if _, ok := results[name]; !ok {
			delete(h.upstreams, name) // removed by a reload
		}
	}
	for name, ok := range results {
		st := h.upstreams[name]
		if st == nil {
			st = &upState{ok: true}
			h.upstreams[name] = st
		}
		if !ok && st.ok {
			st.downSince = now
		}
		st.ok = ok
	}
}

func (h *health) upstreamStates() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]bool, len(h.upstreams))
	for n, st := range h.upstreams {
		out[n] = st.ok
	}
	return out
}

// readiness returns why the proxy is not ready, or "" when it is.
func (h *health) readiness() string {
	if h.p.Draining() {
		return "draining"
	}
	if !h.startupComplete() {
		return "starting"
	}
	now, grace := h.now(), h.unreadyAfter()
	if h.o.Sources != nil {
		for _, s := range h.o.Sources() {
			if !s.Local && s.Err != nil && now.Sub(s.LastOK) > grace {
				return fmt.Sprintf("credential source %s failing: %v", s.Name, s.Err)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.upstreams) == 0 {
		return ""
	}
	var down []string
	for name, st := range h.upstreams {
		if st.ok || now.Sub(st.downSince) <= grace {
			return "" // one reachable upstream: some tenants can work
		}
		down = append(down, name)
	}
	sort.Strings(down)
	return "every upstream unreachable: " + strings.Join(down, ", ")
}

func (h *health) mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /startup", func(w http.ResponseWriter, _ *http.Request) {
		if !h.startupComplete() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("started\n"))
	})
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := h.readiness(); why != "" {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
}
