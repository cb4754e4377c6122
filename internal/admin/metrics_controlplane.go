package admin

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// planeCollector exports the control plane's figures and how many live
// sessions use each credential (rotation: move clients, watch the old ID
// drop to zero, revoke it). Labels are names and credential IDs, never a
// secret. Tenants past admin.metrics_tenants share tenant="_other" as in
// every other metric, and one scrape has at most maxCredentialSeries
// (tenant, credential) pairs: the rest are summed under _other/_other.
type planeCollector struct {
	plane *controlplane.Plane
	p     *proxy.Server
	m     *Metrics
	// list is the live sessions (the proxy's registry; a test feeds many).
	list                              func() []proxy.Info
	rebuilds, srcErrors, build, probs *prometheus.Desc
	credSessions                      *prometheus.Desc
}

// maxCredentialSeries bounds redoubt_credential_sessions per scrape. A
// gauge read at scrape time, so a pair past the bound moving to _other
// between scrapes breaks no rate().
const maxCredentialSeries = 1000

func newPlaneCollector(plane *controlplane.Plane, p *proxy.Server, m *Metrics) *planeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("redoubt_"+name, help, labels, nil)
	}
	return &planeCollector{
		plane:        plane,
		p:            p,
		m:            m,
		list:         p.Registry().List,
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
	for _, s := range c.list() {
		if s.CredentialID != "" {
			t := c.m.tenants.label(s.Tenant)
			if t == Other {
				n[key{Other, Other}]++
			} else {
				n[key{t, s.CredentialID}]++
			}
		}
	}
	if len(n) > maxCredentialSeries {
		keys := make([]key, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].tenant != keys[j].tenant {
				return keys[i].tenant < keys[j].tenant
			}
			return keys[i].cred < keys[j].cred
		})
		rest := 0
		for _, k := range keys[maxCredentialSeries-1:] {
			if k != (key{Other, Other}) {
				rest += n[k]
				delete(n, k)
			}
		}
		n[key{Other, Other}] += rest
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.credSessions, prometheus.GaugeValue, float64(v), k.tenant, k.cred)
	}
}
