package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// planeCollector exports the control plane's figures and how many live
// sessions use each credential (rotation: move clients, watch the old ID
// drop to zero, revoke it). Labels are names and credential IDs, never a
// secret.
type planeCollector struct {
	plane                             *controlplane.Plane
	p                                 *proxy.Server
	rebuilds, srcErrors, build, probs *prometheus.Desc
	credSessions                      *prometheus.Desc
}

func newPlaneCollector(plane *controlplane.Plane, p *proxy.Server) *planeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_"+name, help, labels, nil)
	}
	return &planeCollector{
		plane:        plane,
		p:            p,
		rebuilds:     d("snapshot_rebuilds_total", "Snapshots merged, built and swapped in."),
		srcErrors:    d("source_errors_total", "Loads of a source that failed (its last good view was kept)."),
		build:        d("snapshot_build_seconds", "How long the last merge, build and swap took."),
		probs:        d("source_problems", "Entries left out of the current snapshot (bad or conflicting), by source.", "source"),
		credSessions: d("credential_sessions", "Live sessions by the credential they logged in with.", "tenant", "credential"),
	}
}

func (c *planeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rebuilds, c.srcErrors, c.build, c.probs, c.credSessions} {
		ch <- d
	}
}

func (c *planeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.plane.Stats()
	ch <- prometheus.MustNewConstMetric(c.rebuilds, prometheus.CounterValue, float64(st.Rebuilds))
	ch <- prometheus.MustNewConstMetric(c.srcErrors, prometheus.CounterValue, float64(st.SourceErrors))
	ch <- prometheus.MustNewConstMetric(c.build, prometheus.GaugeValue, st.LastBuild.Seconds())
	for src, n := range st.ProblemsBySource {
		ch <- prometheus.MustNewConstMetric(c.probs, prometheus.GaugeValue, float64(n), src)
	}
	type key struct{ tenant, cred string }
	n := map[key]int{}
	for _, s := range c.p.Registry().List() {
		if s.CredentialID != "" {
			n[key{s.Tenant, s.CredentialID}]++
		}
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.credSessions, prometheus.GaugeValue, float64(v), k.tenant, k.cred)
	}
}
