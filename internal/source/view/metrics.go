package view

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the figures of every source at scrape time. Labels
// are source names, Secret namespace/names, etcd keys and field names:
// never a secret.
type collector struct {
	stats                                         []*Stats
	gen, lastSync, entries, rejected, errs, stale *prometheus.Desc
	entry                                         *prometheus.Desc
}

// Collector returns a Prometheus collector for sources' stats.
func Collector(stats ...*Stats) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_source_"+name, help, append([]string{"source"}, labels...), nil)
	}
	return &collector{
		stats:    stats,
		gen:      d("generation", "Views the source has published (each one a changed set of tenants)."),
		lastSync: d("last_sync_timestamp_seconds", "When the source last heard from its backend successfully (Unix time)."),
		entries:  d("entries", "Tenants the source currently defines."),
		rejected: d("rejected_entries", "Entries the source currently skips (bad fields); see redoubt_source_rejected_entry."),
		errs:     d("watch_errors_total", "Failed lists, watches and probes of the source's backend (Kubernetes API, etcd)."),
		stale:    d("stale", "1 when the backend has been out of reach for longer than stale_after (the last good view serves)."),
		entry:    d("rejected_entry", "1 for each skipped entry: a Secret's namespace/name or an etcd key, and the field at fault.", "entry", "field"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.gen, c.lastSync, c.entries, c.rejected, c.errs, c.stale, c.entry} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range c.stats {
		st := s.Read()
		gauge(c.gen, float64(st.Generation), st.Source)
		if !st.LastSync.IsZero() {
			gauge(c.lastSync, float64(st.LastSync.UnixNano())/1e9, st.Source)
		}
		gauge(c.entries, float64(st.Entries), st.Source)
		gauge(c.rejected, float64(len(st.Rejected)), st.Source)
		ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, float64(st.Errors), st.Source)
		stale := 0.0
		if st.Stale {
			stale = 1
		}
		gauge(c.stale, stale, st.Source)
		seen := map[[2]string]bool{}
		for _, r := range st.Rejected {
			k := [2]string{r.Entry, r.Field}
			if !seen[k] {
				seen[k] = true
				gauge(c.entry, 1, st.Source, r.Entry, r.Field)
			}
		}
	}
}
