package admin

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

func TestMetricsOneTenantInTwoModes(t *testing.T) {
	// A tenant whose route changed on reload has, until its old sessions
	// end, sessions in two modes on the same upstream.
	list := []proxy.Info{
		{ID: 1, Tenant: "alice", Upstream: "main", Mode: "pass-through", BytesIn: 10, BytesOut: 100},
		{ID: 2, Tenant: "alice", Upstream: "main", Mode: "inspected", BytesIn: 5, BytesOut: 50},
		{ID: 3, Tenant: "alice", Upstream: "main", Mode: "inspected", BytesIn: 1, BytesOut: 1},
		{ID: 4, Mode: "handshake", BytesIn: 7},
	}
	m := NewMetrics(100)
	p := proxy.New(proxy.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	o := &Options{Version: "test", Upstreams: func() map[string]string { return nil }}
	c := newCollector(p, m, o, newHealth(p, o))
	c.list = func() []proxy.Info { return list }
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		switch mf.GetName() {
		case "redoubt_sessions", "redoubt_session_received_bytes", "redoubt_session_sent_bytes":
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got = append(got, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(labels, ","), m.GetGauge().GetValue()))
		}
	}
	want := []string{
		"redoubt_session_received_bytes{tenant=alice,upstream=main} 16",
		"redoubt_session_sent_bytes{tenant=alice,upstream=main} 151",
		"redoubt_sessions{mode=inspected,tenant=alice,upstream=main} 2",
		"redoubt_sessions{mode=pass-through,tenant=alice,upstream=main} 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("scrape:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
