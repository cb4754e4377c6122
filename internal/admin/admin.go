// Package admin serves redoubt's HTTP endpoint: /healthz, /readyz,
// /metrics (Prometheus), the deprecated /sessions API, and the /v1/ admin
// API (tenants, credentials, sessions), which needs a bearer token or a
// client certificate (Authenticator). Bind it to loopback or a management
// network: health and metrics are open, and so is /sessions when no admin
// auth is configured.
package admin

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// Server is the running admin endpoint.
type Server struct {
	l   net.Listener
	srv *http.Server
}

// Options are what the endpoint serves besides its fixed routes.
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
}

// Start listens on addr and serves in the background.
func Start(addr string, p *proxy.Server, log *slog.Logger, o Options) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l = newLimitListener(l, adminMaxConns)
	if o.TLS != nil {
		l = tls.NewListener(l, o.TLS)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(p))
	if o.Plane != nil {
		reg.MustRegister(newPlaneCollector(o.Plane, p))
	}
	reg.MustRegister(newFairCollector(p)) // fairshare.go
	if o.Auth != nil && o.Auth.fails == nil {
		o.Auth.SetLogger(log)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if p.Draining() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The deprecated /sessions routes stay open only where no admin auth
	// is configured (as before the /v1/ API): once a token or client CA is
	// set, they need it too, or anyone reaching the port could end any
	// tenant's session around the API's authentication.
	legacy := func(pattern string, f http.HandlerFunc) {
		if o.Auth.Enabled() {
			mux.Handle(pattern, o.Auth.Require(f))
			return
		}
		mux.HandleFunc(pattern, f)
	}
	legacy("GET /sessions", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p.Registry().List())
	})
	legacy("DELETE /sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil || !p.Registry().CloseID(id, "closed by admin") {
			http.Error(w, "no such session", http.StatusNotFound)
			return
		}
		log.Info("session closed by admin", "audit", true, "conn", id, "subject", Subject(r), "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusNoContent)
	})
	if o.Plane != nil {
		(&api{plane: o.Plane, proxy: p, log: log}).register(mux, o.Auth)
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
	// Every route, present and future, goes through the Host check.
	s := &Server{l: l, srv: &http.Server{Handler: hostCheck(addr, cleanPathOnly(mux)), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: adminReadTimeout, IdleTimeout: adminIdleTimeout}}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server", "err", err)
		}
	}()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.l.Addr().String() }

// Close stops the endpoint.
func (s *Server) Close() error { return s.srv.Close() }
