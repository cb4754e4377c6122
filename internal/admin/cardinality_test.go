package admin

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// seriesBound is the documented bound (docs/operations.md, "How many
// series"): about 40 fixed series, 25 per tenant label value (15 for the
// latency histogram, 4 denial reasons, 3 session modes, 2 byte gauges,
// failed logins) and
// 22 per upstream label value (15 for the dial histogram, dial errors,
// upstream_up, and the _other tenant's 5 session series on it).
func seriesBound(tenantLabels, upstreams int) int {
	return 40 + 25*(tenantLabels+1) + 22*(upstreams+1)
}

// TestSeriesStayBounded gives the metrics 10,000 tenants' worth of
// sessions, commands, refusals and dials and counts the series a scrape
// returns. The sessions are the registry's listing, fed here directly:
// 10,000 live client connections would need 30,000 descriptors and as
// many redis-server clients, and the code under test is the labelling.
func TestSeriesStayBounded(t *testing.T) {
	const tenants, upstreams, maxTenants = 10000, 4, 100
	m := NewMetrics(maxTenants)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := proxy.New(proxy.Options{Logger: log, Observer: m})
	o := &Options{Version: "test", Upstreams: func() map[string]string { return nil }}
	c := newCollector(p, m, o, newHealth(p, o))
	var sessions []proxy.Info
	modes := []string{"inspected", "pass-through"}
	for i := range tenants {
		name := fmt.Sprintf("tenant-%05d", i)
		ups := fmt.Sprintf("cache-%d", i%upstreams)
		for k := range 2 {
			sessions = append(sessions, proxy.Info{ID: uint64(2*i + k), Tenant: name, Upstream: ups, Mode: modes[k], BytesIn: 10, BytesOut: 20, Start: time.Now()})
		}
		to := m.Tenant(name)
		to.Command(time.Millisecond)
		for _, r := range []string{proxy.DenyUnknown, proxy.DenyRole, proxy.DenyIsolation, proxy.DenyUnsupported} {
			to.Denied(r)
		}
		m.UpstreamDial(ups, time.Millisecond, nil)
		m.AuthFailed(name)
		m.AuthFailed("")
	}
	c.list = func() []proxy.Info { return sessions }
	m.reg.MustRegister(c)

	fams, err := m.reg.Gather() // also fails on a duplicate series
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	tenantValues := map[string]bool{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			n := 1
			if h := mt.GetHistogram(); h != nil {
				n = len(h.GetBucket()) + 3 // buckets, +Inf, _sum, _count
			}
			total += n
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "tenant" && lp.GetValue() != "" {
					tenantValues[lp.GetValue()] = true
				}
			}
		}
	}
	bound := seriesBound(maxTenants, upstreams)
	t.Logf("%d tenants, %d sessions: %d series (bound %d), %d tenant label values", tenants, len(sessions), total, bound, len(tenantValues))
	if total > bound {
		t.Errorf("%d series, over the documented bound %d", total, bound)
	}
	if len(tenantValues) != maxTenants+1 || !tenantValues[Other] {
		t.Errorf("%d tenant label values, want %d plus %q", len(tenantValues), maxTenants, Other)
	}
	// Nothing is lost by folding: the sessions of every tenant are counted.
	var counted float64
	for _, f := range fams {
		if f.GetName() == "redoubt_sessions" {
			for _, mt := range f.GetMetric() {
				counted += mt.GetGauge().GetValue()
			}
		}
	}
	if int(counted) != len(sessions) {
		t.Errorf("redoubt_sessions sums to %v, want %d", counted, len(sessions))
	}
	var _ prometheus.Collector = c
}

// TestCredentialSeriesBounded: sessions of 3,000 credentials of 150
// tenants give at most maxCredentialSeries series of
// redoubt_credential_sessions, tenants past metrics_tenants under _other,
// and every session is still counted.
func TestCredentialSeriesBounded(t *testing.T) {
	m := NewMetrics(100)
	p := proxy.New(proxy.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	c := newPlaneCollector(controlplane.New(controlplane.Options{}), p, m)
	var sessions []proxy.Info
	for i := range 3000 {
		sessions = append(sessions, proxy.Info{ID: uint64(i), Tenant: fmt.Sprintf("tenant-%03d", i%150),
			CredentialID: fmt.Sprintf("cred-%04d", i), Mode: "inspected"})
	}
	c.list = func() []proxy.Info { return sessions }
	m.reg.MustRegister(c)
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series, total, other := 0, 0.0, 0.0
	for _, f := range fams {
		if f.GetName() != "redoubt_credential_sessions" {
			continue
		}
		for _, mt := range f.GetMetric() {
			series++
			total += mt.GetGauge().GetValue()
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "tenant" && lp.GetValue() == Other {
					other += mt.GetGauge().GetValue()
				}
			}
		}
	}
	if series > maxCredentialSeries || series < maxCredentialSeries/2 || total != 3000 || other < 1000 {
		t.Errorf("%d series (bound %d), %g sessions (want 3000), %g under _other (want ≥ 1000: 50 tenants past the cap)",
			series, maxCredentialSeries, total, other)
	}
}
