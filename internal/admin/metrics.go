package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// collector reads the proxy's counters and registry at scrape time, so the
// data path keeps plain atomics and no Prometheus call on the hot path.
// Labels are tenant and upstream names only: never a secret or token.
type collector struct {
	p                                                  *proxy.Server
	accepted, authFail, upErr, panics, refused, reauth *prometheus.Desc
	splice, sessions, bytesIn, bytesOut, loopSessions  *prometheus.Desc
}

func newCollector(p *proxy.Server) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_"+name, help, labels, nil)
	}
	return &collector{
		p:            p,
		accepted:     d("connections_accepted_total", "Client connections accepted."),
		authFail:     d("auth_failures_total", "Failed logins."),
		upErr:        d("upstream_errors_total", "Upstream dials or logins that failed."),
		panics:       d("session_panics_total", "Sessions ended by a recovered panic."),
		refused:      d("connections_refused_total", "Logins and connections refused by a limit: failed-login throttling, connection caps, and unauthenticated connections closed to make room."),
		reauth:       d("upstream_reauths_total", "In-place upstream re-logins (AWS IAM)."),
		splice:       d("splice_bytes_total", "Bytes moved by kernel splice."),
		loopSessions: d("event_loop_sessions", "Live sessions served by the epoll event loops (plain TCP on both sides); the others run on goroutines."),
		sessions:     d("sessions", "Live sessions.", "tenant", "upstream", "mode"),
		bytesIn:      d("session_bytes_in", "Bytes from clients of live sessions.", "tenant", "upstream"),
		bytesOut:     d("session_bytes_out", "Bytes to clients of live sessions.", "tenant", "upstream"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.accepted, c.authFail, c.upErr, c.panics, c.refused, c.reauth, c.splice, c.sessions, c.bytesIn, c.bytesOut, c.loopSessions} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(c.accepted, st.Accepted)
	counter(c.authFail, st.AuthFailures)
	counter(c.upErr, st.UpstreamErrors)
	counter(c.panics, st.Panics)
	counter(c.refused, st.Refused)
	counter(c.reauth, st.Reauths)
	counter(c.splice, st.SpliceBytes)
	ch <- prometheus.MustNewConstMetric(c.loopSessions, prometheus.GaugeValue, float64(st.LoopSessions))
	c.collectSessions(ch, c.p.Registry().List())
}

// collectSessions reports live sessions per (tenant, upstream, mode) and
// their bytes per (tenant, upstream): the byte series have no mode label,
// so they are summed over modes, or a tenant with sessions in two modes
// would yield two series with the same labels and fail the whole scrape.
func (c *collector) collectSessions(ch chan<- prometheus.Metric, list []proxy.Info) {
	type key struct{ tenant, upstream, mode string }
	type bytesKey struct{ tenant, upstream string }
	n := map[key]int{}
	in := map[bytesKey]int64{}
	out := map[bytesKey]int64{}
	for _, s := range list {
		if s.Tenant == "" {
			continue
		}
		n[key{s.Tenant, s.Upstream, s.Mode}]++
		bk := bytesKey{s.Tenant, s.Upstream}
		in[bk] += s.BytesIn
		out[bk] += s.BytesOut
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(v), k.tenant, k.upstream, k.mode)
	}
	for k, v := range in {
		ch <- prometheus.MustNewConstMetric(c.bytesIn, prometheus.GaugeValue, float64(v), k.tenant, k.upstream)
		ch <- prometheus.MustNewConstMetric(c.bytesOut, prometheus.GaugeValue, float64(out[k]), k.tenant, k.upstream)
	}
}
