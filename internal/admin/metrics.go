package admin

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// collector reads the proxy's counters and registry at scrape time, so the
// data path keeps plain atomics and no Prometheus call on the hot path.
// Labels are tenant and upstream names only, never a secret or token, and
// both are bounded (labelSlots): docs/operations.md gives the series bound.
//
// Names follow Prometheus's rules: redoubt_<subsystem>_<name>_<unit>,
// _total on counters, seconds and bytes as base units. Renamed in this
// version (docs/operations.md): redoubt_session_bytes_in/_out became
// redoubt_session_received_bytes/_sent_bytes, redoubt_splice_bytes_total
// became redoubt_relay_splice_bytes_total.
type collector struct {
	p *proxy.Server
	// list is the live sessions (the proxy's registry; a test feeds many).
	list func() []proxy.Info
	m    *Metrics
	o    *Options
	h    *health

	accepted, authFail, upErr, panics, refused, reauth *prometheus.Desc
	splice, sessions, bytesIn, bytesOut, loopSessions  *prometheus.Desc
	buildInfo, maxConns, maxPerTenant                  *prometheus.Desc
	snapGen, snapAge, certExpiry, upstreamUp           *prometheus.Desc
	sourceUp, sourceLastOK, startupDone, ready         *prometheus.Desc
}

func newCollector(p *proxy.Server, m *Metrics, o *Options, h *health) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_"+name, help, labels, nil)
	}
	return &collector{
		p: p, m: m, o: o, h: h, list: p.Registry().List,
		accepted:     d("connections_accepted_total", "Client connections accepted."),
		authFail:     d("auth_failures_total", "Failed logins."),
		upErr:        d("upstream_errors_total", "Upstream dials or logins that failed."),
		panics:       d("session_panics_total", "Sessions ended by a recovered panic."),
		refused:      d("connections_refused_total", "Logins and connections refused by a limit: failed-login throttling, connection caps, and unauthenticated connections closed to make room."),
		reauth:       d("upstream_reauths_total", "In-place upstream re-logins (AWS IAM)."),
		splice:       d("relay_splice_bytes_total", "Bytes moved by kernel splice."),
		loopSessions: d("event_loop_sessions", "Live sessions served by the epoll event loops (plain TCP on both sides); the others run on goroutines."),
		sessions:     d("sessions", "Live sessions.", "tenant", "upstream", "mode"),
		bytesIn:      d("session_received_bytes", "Bytes received from the clients of live sessions.", "tenant", "upstream"),
		bytesOut:     d("session_sent_bytes", "Bytes sent to the clients of live sessions.", "tenant", "upstream"),
		buildInfo:    d("build_info", "Always 1; the labels say which build runs.", "version", "goversion"),
		maxConns:     d("limits_max_connections", "limits.max_connections (0: unlimited)."),
		maxPerTenant: d("limits_max_conns_per_tenant", "limits.max_conns_per_tenant (0: unlimited)."),
		snapGen:      d("snapshot_generation", "Generation of the tenant snapshot in use (1 at start, +1 per applied change)."),
		snapAge:      d("snapshot_age_seconds", "Seconds since the tenant snapshot in use was built."),
		certExpiry:   d("tls_certificate_expiry_timestamp_seconds", "When a listener's certificate expires (Unix time).", "listener"),
		upstreamUp:   d("upstream_up", "1 if the last readiness dial of the upstream connected, else 0.", "upstream"),
		sourceUp:     d("source_up", "1 if the credential source's last sync succeeded, else 0.", "source"),
		sourceLastOK: d("source_last_success_timestamp_seconds", "When the credential source last synced (Unix time).", "source"),
		startupDone:  d("startup_complete", "1 once listeners are up and the first snapshot is built (/startup)."),
		ready:        d("ready", "1 while /readyz answers 200."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(c.accepted, st.Accepted)
	counter(c.authFail, st.AuthFailures)
	counter(c.upErr, st.UpstreamErrors)
	counter(c.panics, st.Panics)
	counter(c.refused, st.Refused)
	counter(c.reauth, st.Reauths)
	counter(c.splice, st.SpliceBytes)
	gauge(c.loopSessions, float64(st.LoopSessions))
	gauge(c.buildInfo, 1, c.o.Version, runtime.Version())
	total, perTenant := c.p.ConnLimits()
	gauge(c.maxConns, float64(total))
	gauge(c.maxPerTenant, float64(perTenant))

	// Sessions: counted per (tenant, upstream, mode), bytes per (tenant,
	// upstream) — each series once, whatever the modes under it.
	type key struct{ tenant, upstream, mode string }
	type tu struct{ tenant, upstream string }
	n := map[key]int{}
	in := map[tu]int64{}
	out := map[tu]int64{}
	for _, s := range c.list() {
		if s.Tenant == "" {
			continue
		}
		t, u := c.m.tenants.label(s.Tenant), c.m.upstreams.label(s.Upstream)
		n[key{t, u, s.Mode}]++
		in[tu{t, u}] += s.BytesIn
		out[tu{t, u}] += s.BytesOut
	}
	for k, v := range n {
		gauge(c.sessions, float64(v), k.tenant, k.upstream, k.mode)
	}
	for k, v := range in {
		gauge(c.bytesIn, float64(v), k.tenant, k.upstream)
		gauge(c.bytesOut, float64(out[k]), k.tenant, k.upstream)
	}

	if c.o.Snapshot != nil {
		gen, built := c.o.Snapshot()
		gauge(c.snapGen, float64(gen))
		if !built.IsZero() {
			gauge(c.snapAge, time.Since(built).Seconds())
		}
	}
	if c.o.Certificates != nil {
		for _, cert := range c.o.Certificates() {
			gauge(c.certExpiry, float64(cert.NotAfter.Unix()), cert.Listener)
		}
	}
	for name, ok := range c.h.upstreamStates() {
		gauge(c.upstreamUp, b2f(ok), name) // configured names: bounded by the config
	}
	if c.o.Sources != nil {
		for _, s := range c.o.Sources() {
			gauge(c.sourceUp, b2f(s.Err == nil), s.Name)
			if !s.LastOK.IsZero() {
				gauge(c.sourceLastOK, float64(s.LastOK.Unix()), s.Name)
			}
		}
	}
	gauge(c.startupDone, b2f(c.h.startupComplete()))
	gauge(c.ready, b2f(c.h.readiness() == ""))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
