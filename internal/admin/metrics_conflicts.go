package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/controlplane"
)

// conflictCollector counts tenants left out of the current snapshot
// because a source of higher precedence defines the same name (file over
// store/etcd over Kubernetes), by the source that lost and the one that
// won: never silently merged, and visible without reading the log.
type conflictCollector struct {
	plane *controlplane.Plane
	desc  *prometheus.Desc
}

func newConflictCollector(plane *controlplane.Plane) *conflictCollector {
	return &conflictCollector{plane: plane, desc: prometheus.NewDesc("redoubt_source_conflicts",
		"Tenants left out because a source of higher precedence defines the same name.",
		[]string{"source", "winner"}, nil)}
}

func (c *conflictCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *conflictCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.plane.Current()
	if st == nil {
		return
	}
	type key struct{ source, winner string }
	n := map[key]int{}
	for _, pr := range st.Snapshot.Problems {
		if pr.ConflictWith != "" {
			n[key{pr.Source, pr.ConflictWith}]++
		}
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), k.source, k.winner)
	}
}
