// Package admin serves redoubt's HTTP endpoint: the probes (/startup,
// /livez, /readyz, and /healthz), /metrics (Prometheus), the deprecated
// /sessions API, the /v1/ admin API (tenants, credentials, sessions) and
// the operator's page under /ui/. /v1/ needs a bearer token or a client
// certificate (Authenticator), /ui/ the same token. Bind it to loopback or
// a management network: health, metrics and /sessions are open.
package admin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// Server is the running admin endpoint.
type Server struct {
	l      net.Listener
	srv    *http.Server
	health *health
}

// Options are what the endpoint serves besides its fixed routes. Every
// func may be nil: the feature it feeds is then off.
type Options struct {
	// Pprof adds Go's profiler under /debug/pprof/.
	Pprof bool
	// Plane serves the /v1/ API (tenants, credentials, sessions); nil =
	// no /v1/ API.
	Plane *controlplane.Plane
	// Auth guards /v1/; nil or not Enabled = /v1/ refused.
	Auth *Authenticator
	// TLS serves the endpoint over TLS (client certificates for mTLS).
	TLS *tls.Config
	// Metrics is the registry the proxy's Observer feeds; nil: a fresh one
	// (the scrape-time metrics only).
	Metrics *Metrics
	// Version labels redoubt_build_info.
	Version string

	// UnreadyAfter: see config admin.unready_after (0: 30s).
	UnreadyAfter time.Duration
	// ProbeInterval is how often the upstreams are dialed for /readyz
	// (0: 5s).
	ProbeInterval time.Duration
	// Upstreams returns the upstreams to dial for /readyz, name → address.
	Upstreams func() map[string]string
	// Sources returns the credential sources' last syncs.
	Sources func() []SourceStatus
	// Snapshot returns the tenant snapshot's generation (0: none built
	// yet, /startup waits) and when it was built.
	Snapshot func() (generation uint64, built time.Time)
	// Certificates returns the listeners' certificate expiries.
	Certificates func() []Certificate

	// Authenticate checks an admin token (constant time) and returns who
	// it names; nil: the /ui/ page is off (deny by default).
	Authenticate func(token string) (subject string, ok bool)
	// RevokeCredential revokes a tenant's credential and ends its
	// sessions; nil: the page has no revoke buttons.
	RevokeCredential func(ctx context.Context, tenant, id string) error
	// Audit receives the page's actions (session ends, revocations).
	Audit audit.Sink

	// fixedCredential reports a tenant whose credentials the page cannot
	// revoke (not the store's); set from Plane.
	fixedCredential func(tenant string) bool
}

// Start listens on addr and serves in the background. Call SetStarted once
// the proxy's listeners are up.
func Start(addr string, p *proxy.Server, log *slog.Logger, o Options) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		l = tls.NewListener(l, o.TLS)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(100)
	}
	if o.Plane != nil {
		o.wirePlane()
	}
	if o.Authenticate == nil && o.Auth != nil && o.Auth.hasToken {
		o.Authenticate = o.Auth.Token
	}
	h := newHealth(p, &o)
	o.Metrics.reg.MustRegister(newCollector(p, o.Metrics, &o, h))
	if o.Plane != nil {
		o.Metrics.reg.MustRegister(newPlaneCollector(o.Plane, p, o.Metrics))
	}
	o.Metrics.reg.MustRegister(newFairCollector(p)) // fairshare.go
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	h.mount(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p.Registry().List())
	})
	mux.HandleFunc("DELETE /sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil || !p.Registry().CloseID(id, "closed by admin") {
			http.Error(w, "no such session", http.StatusNotFound)
			return
		}
		log.Info("session closed by admin", "audit", true, "conn", id)
		if o.Audit != nil {
			o.Audit.Write(audit.Event{Event: "session_closed", Success: true, SessionID: id, Reason: "admin API"})
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if o.Plane != nil {
		(&api{plane: o.Plane, proxy: p, log: log}).register(mux, o.Auth)
	}
	if o.Authenticate != nil {
		mountUI(mux, p, log, &o)
	}
	if o.Pprof {
		// Profiling under load, in place (docs/benchmarks.md):
		//   go tool pprof http://ADMIN/debug/pprof/profile?seconds=10
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	// Every route, present and future (/ui/ included), goes through the
	// Host check.
	s := &Server{l: l, srv: &http.Server{Handler: hostCheck(addr, mux), ReadHeaderTimeout: 5 * time.Second}, health: h}
	h.run()
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server", "err", err)
		}
	}()
	return s, nil
}

// SetStarted marks the proxy's listeners as up: /startup answers 200 once
// the first snapshot is built too.
func (s *Server) SetStarted() { s.health.started.Store(true) }

// Addr is the bound address.
func (s *Server) Addr() string { return s.l.Addr().String() }

// Close stops the endpoint.
func (s *Server) Close() error {
	s.health.close()
	return s.srv.Close()
}
