package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

var metricName = regexp.MustCompile(`\bredoubt_[a-z0-9_]+`)

// dashboardQueries returns every PromQL expression in the Grafana
// dashboard: panel targets (rows included) and template variable queries.
func dashboardQueries(t *testing.T) []string {
	raw, err := os.ReadFile("../../deploy/grafana/redoubt.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("redoubt.json: %v", err)
	}
	var out []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q has a target without a query", p.Title)
				}
				out = append(out, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		out = append(out, v.Definition)
	}
	return out
}

// exported returns the metric names in a Prometheus text exposition
// (histogram series under their family name too).
func exported(body string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(rest, " ")
			names[name] = true
			if kind == "histogram" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[name+s] = true
				}
			}
		}
	}
	return names
}

// TestDashboardAndAlertMetricsExist runs redoubt with some of everything
// (a live inspected session, commands, a refused command, a failed login,
// a dial to a dead upstream, a TLS listener) and checks that every metric
// the Grafana dashboard and the alert rules query is in its /metrics.
func TestDashboardAndAlertMetricsExist(t *testing.T) {
	t.Setenv("ALICE_SECRET", aliceSecret)
	t.Setenv("BOB_SECRET", bobSecret)
	up := redistest.Start(t)
	ca := newTestCA(t)
	srvCert := ca.issue("server", true, "localhost")
	addr, tlsAddr, admin, dead := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`
listen:
  - {address: %s}
  - {address: %s, tls: {cert_file: %s, key_file: %s}}
admin: {address: %s}
upstreams:
  main: {address: %s}
  gone: {address: %s, dial_timeout: 1s}
tenants:
  - {name: alice, secret_env: ALICE_SECRET, upstream: main, db: 2, role: readwrite}
  - {name: bob, secret_env: BOB_SECRET, upstream: gone, db: 1, role: readwrite}
limits: {max_connections: 100, max_conns_per_tenant: 10}
`, addr, tlsAddr, srvCert.CertFile, srvCert.KeyFile, admin, up.Addr, dead)
	startGateway(t, cfg, addr, admin)

	alice := dialRaw(t, addr)
	alice.send("AUTH alice " + aliceSecret + "\r\n")
	alice.expect("+OK\r\n")
	alice.send("SET k v\r\nGET k\r\n")
	alice.expect("+OK\r\n$1\r\nv\r\n")
	alice.send("CONFIG GET maxmemory\r\n") // refused by the readwrite role
	alice.expect("-NOPERM this user has no permissions to run the 'config|get' command\r\n")
	bad := dialRaw(t, addr)
	bad.send("AUTH alice wrong\r\n")
	bad.expect("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
	bob := dialRaw(t, addr)
	bob.send("AUTH bob " + bobSecret + "\r\n") // its upstream is a closed port
	buf := make([]byte, 256)
	_ = bob.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := bob.Read(buf); !strings.HasPrefix(string(buf[:n]), "-") {
		t.Fatalf("bob's login to a dead upstream answered %q, want an error", buf[:n])
	}

	var body string
	waitFor(t, 10*time.Second, "the readiness dial of both upstreams", func() bool {
		resp, err := http.Get("http://" + admin + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, `redoubt_upstream_up{upstream="gone"} 0`) && strings.Contains(body, `redoubt_upstream_up{upstream="main"} 1`)
	})
	have := exported(body)

	// Every source reports its last load, the configuration file too.
	if !strings.Contains(body, `redoubt_source_up{source="file"} 1`) {
		t.Errorf("no redoubt_source_up for the file source in /metrics")
	}
	check := func(what string, exprs []string) {
		seen := map[string]bool{}
		for _, e := range exprs {
			for _, n := range metricName.FindAllString(e, -1) {
				seen[n] = true
			}
		}
		if len(seen) == 0 {
			t.Fatalf("%s: no redoubt_ metric in its queries", what)
		}
		var missing []string
		for n := range seen {
			if !have[n] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s queries metrics redoubt does not export: %v", what, missing)
		}
		t.Logf("%s: %d metric names, all exported", what, len(seen))
	}
	check("deploy/grafana/redoubt.json", dashboardQueries(t))
	alerts, err := os.ReadFile("../../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, line := range strings.Split(string(alerts), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			exprs = append(exprs, line)
		}
	}
	check("deploy/prometheus/alerts.yaml", exprs)
}
