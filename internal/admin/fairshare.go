package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// fairCollector exports the per-tenant fair-sharing figures (internal/limit)
// at scrape time: what rate limits held back or refused, and quota use.
type fairCollector struct {
	p                                      *proxy.Server
	throttled, delayed, refused            *prometheus.Desc
	keys, memory, maxKeys, maxMem, sampled *prometheus.Desc
}

func newFairCollector(p *proxy.Server) *fairCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_tenant_"+name, help, append([]string{"tenant"}, labels...), nil)
	}
	return &fairCollector{
		p:         p,
		throttled: d("throttled_commands_total", "Commands held back by a rate limit (max_ops_per_second, max_bytes_per_second)."),
		delayed:   d("throttled_seconds_total", "Time commands were held back by rate limits, summed over commands."),
		refused:   d("refused_commands_total", "Commands refused by a fair-sharing limit, by reason (rate, request_bytes, value_bytes, offset, max_keys, max_memory).", "reason"),
		keys:      d("quota_keys", "Keys in the tenant's DB at the last quota sample."),
		memory:    d("quota_memory_bytes", "Estimated memory of the tenant's keys at the last quota sample."),
		maxKeys:   d("quota_max_keys", "The tenant's max_keys."),
		maxMem:    d("quota_max_memory_bytes", "The tenant's max_memory_bytes."),
		sampled:   d("quota_sampled_timestamp_seconds", "When the tenant's quota was last sampled."),
	}
}

func (c *fairCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.throttled, c.delayed, c.refused, c.keys, c.memory, c.maxKeys, c.maxMem, c.sampled} {
		ch <- d
	}
}

func (c *fairCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.p.Limits().Tenants() {
		l, st := t.Limits(), t.Stats()
		if l.None() && st.Throttled == 0 {
			continue // a tenant that never had limits: nothing to say
		}
		m := func(d *prometheus.Desc, kind prometheus.ValueType, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, kind, v, append([]string{t.Name}, labels...)...)
		}
		m(c.throttled, prometheus.CounterValue, float64(st.Throttled))
		m(c.delayed, prometheus.CounterValue, st.Delayed.Seconds())
		for i, n := range st.Refused {
			m(c.refused, prometheus.CounterValue, float64(n), limit.ReasonNames[i])
		}
		if !l.Quota() || st.SampledAt.IsZero() {
			continue
		}
		m(c.sampled, prometheus.GaugeValue, float64(st.SampledAt.UnixNano())/1e9)
		if l.Keys > 0 {
			m(c.keys, prometheus.GaugeValue, float64(st.Keys))
			m(c.maxKeys, prometheus.GaugeValue, float64(l.Keys))
		}
		if l.MemoryBytes > 0 {
			m(c.memory, prometheus.GaugeValue, float64(st.MemoryBytes))
			m(c.maxMem, prometheus.GaugeValue, float64(l.MemoryBytes))
		}
	}
}
