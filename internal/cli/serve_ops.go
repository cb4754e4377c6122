package cli

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"

	"github.com/redoubt-proxy/redoubt/internal/admin"
	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/certload"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// opsSetup is the operating side of serve: metrics fed by the proxy, the
// audit log file, and the admin endpoint's options.
type opsSetup struct {
	metrics *admin.Metrics // nil without admin.address
	audit   *audit.Writer  // nil without log.audit_file
}

func newOpsSetup(cfg *config.Config, log *slog.Logger) (*opsSetup, error) {
	o := &opsSetup{}
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

// adminOptions are the admin endpoint's options. serve adds the control
// plane (snapshot, upstreams, sources and revocation come from it) and the
// Authenticator (its token opens the /ui/ page; without one the page is
// off).
func (o *opsSetup) adminOptions(cfg *config.Config, specs []proxy.Listener, certs []*certload.Listener) admin.Options {
	ao := admin.Options{
		Pprof:        cfg.Admin.Pprof,
		Metrics:      o.metrics,
		Version:      Version,
		UnreadyAfter: cfg.Admin.UnreadyAfter.D(),
		Certificates: func() []admin.Certificate { return listenerCerts(specs, certs) },
	}
	if o.audit != nil {
		ao.Audit = o.audit
	}
	return ao
}

// listenerCerts reads the certificates in service now: certload re-reads
// renewed files, so the expiry metric follows a renewal.
func listenerCerts(specs []proxy.Listener, certs []*certload.Listener) []admin.Certificate {
	var out []admin.Certificate
	for i, c := range certs {
		if c == nil || i >= len(specs) {
			continue
		}
		if cert := c.Certificate(); cert != nil {
			if leaf := leafOf(*cert); leaf != nil {
				out = append(out, admin.Certificate{Listener: specs[i].Address, NotAfter: leaf.NotAfter})
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
