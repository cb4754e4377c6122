package view

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector(t *testing.T) {
	k := &Stats{Source: "kubernetes"}
	e := &Stats{Source: "etcd"}
	k.Published(&View{
		Tenants:  []Tenant{{Name: "a"}, {Name: "b"}},
		Rejected: []Rejection{{Entry: "team-a/bad", Field: "db", Reason: "not a whole number"}},
	}, time.Unix(1700000000, 0))
	e.Error()
	e.SetStale(true)
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector(k, e))
	want := `
# HELP redoubt_source_entries Tenants the source currently defines.
# TYPE redoubt_source_entries gauge
redoubt_source_entries{source="etcd"} 0
redoubt_source_entries{source="kubernetes"} 2
# HELP redoubt_source_watch_errors_total Failed lists, watches and probes of the source's backend (Kubernetes API, etcd).
# TYPE redoubt_source_watch_errors_total counter
redoubt_source_watch_errors_total{source="etcd"} 1
redoubt_source_watch_errors_total{source="kubernetes"} 0
# HELP redoubt_source_generation Views the source has published (each one a changed set of tenants).
# TYPE redoubt_source_generation gauge
redoubt_source_generation{source="etcd"} 0
redoubt_source_generation{source="kubernetes"} 1
# HELP redoubt_source_last_sync_timestamp_seconds When the source last heard from its backend successfully (Unix time).
# TYPE redoubt_source_last_sync_timestamp_seconds gauge
redoubt_source_last_sync_timestamp_seconds{source="kubernetes"} 1.7e+09
# HELP redoubt_source_rejected_entry 1 for each skipped entry: a Secret's namespace/name or an etcd key, and the field at fault.
# TYPE redoubt_source_rejected_entry gauge
redoubt_source_rejected_entry{entry="team-a/bad",field="db",source="kubernetes"} 1
# HELP redoubt_source_stale 1 when the backend has been out of reach for longer than stale_after (the last good view serves).
# TYPE redoubt_source_stale gauge
redoubt_source_stale{source="etcd"} 1
redoubt_source_stale{source="kubernetes"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"redoubt_source_entries", "redoubt_source_watch_errors_total", "redoubt_source_generation",
		"redoubt_source_last_sync_timestamp_seconds", "redoubt_source_rejected_entry", "redoubt_source_stale"); err != nil {
		t.Fatal(err)
	}
}
