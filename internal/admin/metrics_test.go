package admin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// sessionsOnly feeds a fixed session list through the collector's session
// metrics, so a scrape can be checked without arranging the list live.
type sessionsOnly struct {
	c    *collector
	list []proxy.Info
}

func (s sessionsOnly) Describe(ch chan<- *prometheus.Desc) { s.c.Describe(ch) }
func (s sessionsOnly) Collect(ch chan<- prometheus.Metric) { s.c.collectSessions(ch, s.list) }

func TestMetricsOneTenantInTwoModes(t *testing.T) {
	// A tenant whose route changed on reload has, until its old sessions
	// end, sessions in two modes on the same upstream.
	list := []proxy.Info{
		{ID: 1, Tenant: "alice", Upstream: "main", Mode: "pass-through", BytesIn: 10, BytesOut: 100},
		{ID: 2, Tenant: "alice", Upstream: "main", Mode: "inspected", BytesIn: 5, BytesOut: 50},
		{ID: 3, Tenant: "alice", Upstream: "main", Mode: "inspected", BytesIn: 1, BytesOut: 1},
		{ID: 4, Mode: "handshake", BytesIn: 7},
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(sessionsOnly{c: newCollector(nil), list: list})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got = append(got, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), m.GetGauge().GetValue()))
		}
	}
	want := []string{
		"redoubt_session_bytes_in{tenant=alice,upstream=main} 16",
		"redoubt_session_bytes_out{tenant=alice,upstream=main} 151",
		"redoubt_sessions{mode=inspected,tenant=alice,upstream=main} 2",
		"redoubt_sessions{mode=pass-through,tenant=alice,upstream=main} 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("scrape:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
