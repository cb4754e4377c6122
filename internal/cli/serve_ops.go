package cli

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"sync"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/admin"
	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// snapshotInfo is what the probes and metrics see of the configuration in
// use: its generation (1 at start, +1 per applied reload), when it was
// built, and the upstreams /readyz dials.
type snapshotInfo struct {
	mu        sync.Mutex
	gen       uint64
	built     time.Time
	upstreams map[string]string
}

func (s *snapshotInfo) applied(cfg *config.Config) {
	ups := make(map[string]string, len(cfg.Upstreams))
	for name, u := range cfg.Upstreams {
		ups[name] = u.Address
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.built = time.Now()
	s.upstreams = ups
}

func (s *snapshotInfo) snapshot() (uint64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, s.built
}

func (s *snapshotInfo) upstreamAddrs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upstreams
}

// opsSetup is the operating side of serve: metrics fed by the proxy, the
// audit log file, and the admin endpoint's options.
type opsSetup struct {
	metrics *admin.Metrics // nil without admin.address
	audit   *audit.Writer  // nil without log.audit_file
	snap    *snapshotInfo
}

func newOpsSetup(cfg *config.Config, log *slog.Logger) (*opsSetup, error) {
	o := &opsSetup{snap: &snapshotInfo{}}
	o.snap.applied(cfg)
	if cfg.Admin.Address != "" {
		o.metrics = admin.NewMetrics(cfg.Admin.MetricsTenants)
	}
	if cfg.Log.AuditFile != "" {
		w, err := audit.Open(cfg.Log.AuditFile, func(err error) { log.Error("audit log write", "err", err) })
		if err != nil {
			return nil, err
		}
		o.audit = w
	}
	return o, nil
}

// proxyOptions adds the observer and the audit sink to the proxy's options.
func (o *opsSetup) proxyOptions(po proxy.Options) proxy.Options {
	if o.metrics != nil {
		po.Observer = o.metrics
	}
	if o.audit != nil {
		po.Audit = o.audit
	}
	return po
}

// adminOptions are the admin endpoint's options. Authenticate (the /ui/
// page's token check) is left for the admin API's token (admin.token_env)
// to fill: without it the page stays off.
func (o *opsSetup) adminOptions(cfg *config.Config, specs []proxy.Listener) admin.Options {
	ao := admin.Options{
		Pprof:        cfg.Admin.Pprof,
		Metrics:      o.metrics,
		Version:      Version,
		UnreadyAfter: cfg.Admin.UnreadyAfter.D(),
		Upstreams:    o.snap.upstreamAddrs,
		Snapshot:     o.snap.snapshot,
		Certificates: func() []admin.Certificate { return listenerCerts(specs) },
	}
	if o.audit != nil {
		ao.Audit = o.audit
	}
	return ao
}

func listenerCerts(specs []proxy.Listener) []admin.Certificate {
	var out []admin.Certificate
	for _, s := range specs {
		if s.TLS == nil {
			continue
		}
		for _, c := range s.TLS.Certificates {
			if leaf := leafOf(c); leaf != nil {
				out = append(out, admin.Certificate{Listener: s.Address, NotAfter: leaf.NotAfter})
			}
		}
	}
	return out
}

func leafOf(c tls.Certificate) *x509.Certificate {
	if c.Leaf != nil {
		return c.Leaf
	}
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
