package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scenario is one redis-benchmark invocation.
type scenario struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Tests    string `json:"tests"` // redis-benchmark -t
	Clients  int    `json:"clients"`
	Pipeline int    `json:"pipeline"`
	Size     int    `json:"value_size"`
	N        int    `json:"requests_per_test"`
}

func (s scenario) numTests() int { return len(strings.Split(s.Tests, ",")) }

func scenarios(quick, large bool, scale float64) []scenario {
	n := func(full, q int) int {
		v := full
		if quick {
			v = q
		}
		return max(1000, int(float64(v)*scale))
	}
	scs := []scenario{
		{ID: "c50", Title: "SET/GET -c 50", Tests: "set,get", Clients: 50, Pipeline: 1, Size: 3, N: n(100000, 20000)},
		{ID: "c50-P16", Title: "SET/GET -c 50 -P 16", Tests: "set,get", Clients: 50, Pipeline: 16, Size: 3, N: n(600000, 120000)},
		{ID: "c1", Title: "GET -c 1 (latency)", Tests: "get", Clients: 1, Pipeline: 1, Size: 3, N: n(30000, 6000)},
		{ID: "16k", Title: "16 KiB SET/GET -c 20 -P 4", Tests: "set,get", Clients: 20, Pipeline: 4, Size: 16384, N: n(60000, 12000)},
	}
	if large {
		// Where kernel splice can pay: values far above splice_min_bytes.
		scs = append(scs, scenario{ID: "256k", Title: "256 KiB SET/GET -c 10", Tests: "set,get", Clients: 10, Pipeline: 1, Size: 256 << 10, N: n(6000, 1500)})
	}
	return scs
}

// testResult is one row of redis-benchmark --csv.
type testResult struct {
	Test  string  `json:"test"`
	RPS   float64 `json:"rps"`
	AvgMs float64 `json:"avg_ms"`
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// run is one scenario against one target in one round.
type run struct {
	Round    int          `json:"round"`
	Scenario string       `json:"scenario"`
	Target   string       `json:"target"`
	RPS      float64      `json:"rps"` // all commands / time spent in the tests
	Tests    []testResult `json:"tests"`
	Commands int          `json:"commands"`
	ProxyCPU float64      `json:"proxy_cpu_s"`
	RedisCPU float64      `json:"redis_cpu_s"`
	WallS    float64      `json:"wall_s"`
	Ratio    float64      `json:"ratio_to_direct"`
	Err      string       `json:"error,omitempty"`
}

// GET row (every scenario has one): the latency figures reported.
func (r *run) get() *testResult {
	for i := range r.Tests {
		if r.Tests[i].Test == "GET" {
			return &r.Tests[i]
		}
	}
	if len(r.Tests) > 0 {
		return &r.Tests[0]
	}
	return nil
}

func benchArgs(t *target, s scenario) []string {
	host, port, _ := strings.Cut(t.Addr, ":")
	args := []string{"-h", host, "-p", port, "-t", s.Tests, "-n", strconv.Itoa(s.N),
		"-c", strconv.Itoa(s.Clients), "-d", strconv.Itoa(s.Size), "--csv"}
	if s.Pipeline > 1 {
		args = append(args, "-P", strconv.Itoa(s.Pipeline))
	}
	if t.Auth != "" {
		args = append(args, "-a", t.Auth)
	}
	return args
}

// runBench runs redis-benchmark once and reads the CPU the proxy and
// redis-server spent meanwhile.
func runBench(ctx context.Context, t *target, s scenario, redis *proc) run {
	r := run{Scenario: s.ID, Target: t.Name, Commands: s.N * s.numTests()}
	p0, r0 := int64(0), cpuTicks(redis.pid())
	if t.Proc != nil {
		p0 = cpuTicks(t.Proc.pid())
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "redis-benchmark", benchArgs(t, s)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	r.WallS = time.Since(start).Seconds()
	if t.Proc != nil {
		r.ProxyCPU = float64(cpuTicks(t.Proc.pid())-p0) / userHZ
	}
	r.RedisCPU = float64(cpuTicks(redis.pid())-r0) / userHZ
	if err == nil {
		r.Tests, err = parseCSV(string(out))
	}
	if err == nil && len(r.Tests) != s.numTests() {
		err = fmt.Errorf("expected %d results, got %d", s.numTests(), len(r.Tests))
	}
	if err != nil {
		r.Err = fmt.Sprintf("%v: %s", err, lastLines(string(out), 3))
		return r
	}
	// Total throughput: every test moved N commands, at its own rate.
	var secs float64
	for _, tr := range r.Tests {
		if tr.RPS <= 0 {
			r.Err = "zero rps"
			return r
		}
		secs += float64(s.N) / tr.RPS
	}
	r.RPS = float64(r.Commands) / secs
	return r
}

// parseCSV reads redis-benchmark --csv output (7.x columns: test, rps,
// avg, min, p50, p95, p99, max), ignoring warnings around it.
func parseCSV(out string) ([]testResult, error) {
	var res []testResult
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, `"`) || strings.HasPrefix(line, `"test"`) {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.Trim(f[i], `"`)
		}
		if len(f) < 8 {
			return nil, fmt.Errorf("short csv line %q", line)
		}
		num := make([]float64, 7)
		for i := range num {
			v, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("csv line %q: %v", line, err)
			}
			num[i] = v
		}
		res = append(res, testResult{Test: f[0], RPS: num[0], AvgMs: num[1], P50Ms: num[3], P95Ms: num[4], P99Ms: num[5], MaxMs: num[6]})
	}
	if len(res) == 0 {
		return nil, errors.New("no csv rows in redis-benchmark output")
	}
	return res, nil
}
