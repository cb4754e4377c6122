package main

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// The parsers read other programs' output; these tests pin the formats
// (no timings are measured here).

func TestParseCSV(t *testing.T) {
	out := `WARNING: Could not fetch server CONFIG
"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","68493.15","0.390","0.144","0.367","0.511","0.959","4.551"
"GET","73260.07","0.353","0.088","0.359","0.447","0.535","1.095"
`
	res, err := parseCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[1].Test != "GET" || res[1].RPS != 73260.07 || res[1].P50Ms != 0.359 || res[1].P99Ms != 0.535 {
		t.Fatalf("got %+v", res)
	}
	if _, err := parseCSV("Node replied with error: WRONGPASS\n"); err == nil {
		t.Fatal("no rows: want an error")
	}
}

func TestParseStrace(t *testing.T) {
	out := `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 32.21    6.534939       21012       311         7 futex
 19.00    3.854897          19    200118    100006 read
 15.81    3.207510          32    100105           write
------ ----------- ----------- --------- --------- ------------------
100.00   20.290470          65    300534    100013 total
`
	m := parseStrace(out)
	if m["read"] != 200118 || m["write"] != 100105 || m["futex"] != 311 || len(m) != 3 {
		t.Fatalf("got %v", m)
	}
	if got := topSyscalls(map[string]float64{"read": 4, "write": 2, "x": 0.001}, 5); got != "read 4.00, write 2.00" {
		t.Fatalf("topSyscalls: %q", got)
	}
}

func TestSummaryRatiosAndJSON(t *testing.T) {
	runs := []run{
		{Round: 1, Scenario: "c1", Target: tDirect, RPS: 100, Commands: 1e6, Tests: []testResult{{Test: "GET", P50Ms: 0.020}}},
		{Round: 1, Scenario: "c1", Target: tRedoubtPT, RPS: 50, Commands: 1e6, ProxyCPU: 3, Tests: []testResult{{Test: "GET", P50Ms: 0.050}}},
		{Round: 1, Scenario: "c1", Target: tHAProxy, Err: "failed"},
	}
	fillRatios(runs)
	rows := summarize([]scenario{{ID: "c1"}}, []string{tDirect, tRedoubtPT, tHAProxy}, runs)
	pt := findRow(rows, "c1", tRedoubtPT)
	if pt == nil || pt.Ratio != 0.5 || math.Abs(float64(pt.P50AddedUs)-30) > 1e-9 || pt.ProxyCPUPerM != 3 {
		t.Fatalf("got %+v", pt)
	}
	if findRow(rows, "c1", tHAProxy) != nil {
		t.Fatal("a target without a successful round has no row")
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ops_per_s":null`) {
		t.Fatalf("NaN medians should be null: %s", b)
	}
}

func TestLastGCLine(t *testing.T) {
	p := t.TempDir() + "/redoubt.log"
	log := "time=x level=WARN msg=y\n" +
		"gc 8 @1.358s 2%: 0.45+40+0.007 ms clock, 0.91+1.1/21/18+0.015 ms cpu, 19->20->10 MB, 21 MB goal, 6 MB stacks, 0 MB globals, 2 P\n" +
		"gc 9 @1.687s 2%: 0.080+43+0.005 ms clock, 0.16+0.35/23/24+0.010 ms cpu, 26->27->14 MB, 28 MB goal, 9 MB stacks, 0 MB globals, 2 P\n"
	if err := os.WriteFile(p, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := lastGCLine(p), "heap 26->27->14 MB, goal 28 MB, stacks 9 MB"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
