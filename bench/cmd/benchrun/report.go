package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

type meta struct {
	Date          string   `json:"date"`
	Host          string   `json:"host"`
	Kernel        string   `json:"kernel"`
	CPU           string   `json:"cpu"`
	Cores         int      `json:"cores"`
	GoVersion     string   `json:"go_version"`
	Redis         string   `json:"redis"`
	HAProxy       string   `json:"haproxy"`
	Twemproxy     string   `json:"twemproxy"`
	Redoubt       string   `json:"redoubt"`
	Commit        string   `json:"commit"`
	Rounds        int      `json:"rounds"`
	Quick         bool     `json:"quick"`
	IdleConns     int      `json:"idle_conns"`
	SetupSeconds  float64  `json:"setup_seconds"`
	SetupWorkers  int      `json:"setup_workers"`
	NofileLimit   uint64   `json:"nofile_limit"`
	LoadAvgStart  string   `json:"loadavg_start"`
	LoadAvgEnd    string   `json:"loadavg_end"`
	DurationS     float64  `json:"duration_s"`
	CommandLine   string   `json:"command_line"`
	RedoubtLimits string   `json:"redoubt_limits,omitempty"`
	UnavailableTo []string `json:"unavailable_targets,omitempty"`
}

type summaryRow struct {
	Scenario     string `json:"scenario"`
	Target       string `json:"target"`
	Rounds       int    `json:"rounds_ok"`
	Errors       int    `json:"rounds_failed"`
	RPS          jf     `json:"ops_per_s"`
	Ratio        jf     `json:"ratio_to_direct"`
	RatioMin     jf     `json:"ratio_min"`
	RatioMax     jf     `json:"ratio_max"`
	P50us        jf     `json:"get_p50_us"`
	P99us        jf     `json:"get_p99_us"`
	P50AddedUs   jf     `json:"get_p50_added_us"`
	ProxyCPUPerM jf     `json:"proxy_cpu_s_per_mcmd"`
	RedisCPUPerM jf     `json:"redis_cpu_s_per_mcmd"`
}

type setupSummary struct {
	Case          string `json:"case"`
	Target        string `json:"target"`
	Method        string `json:"method"`
	PerSec        jf     `json:"sessions_per_s"`
	ProxyCPUUsPer jf     `json:"proxy_cpu_us_per_session"`
	Errors        int64  `json:"errors"`
	FirstErr      string `json:"first_error,omitempty"`
}

type check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

type results struct {
	Meta      meta           `json:"meta"`
	Scenarios []scenario     `json:"scenarios"`
	Summary   []summaryRow   `json:"summary"`
	Idle      []idleResult   `json:"idle"`
	Setup     []setupSummary `json:"setup"`
	Syscalls  []syscallRun   `json:"syscalls,omitempty"`
	Checks    []check        `json:"checks"`
	Runs      []run          `json:"runs"`
	SetupRuns []setupRun     `json:"setup_runs"`
}

// jf is a float that is written to JSON as null when it is not a number
// (a median of nothing).
type jf float64

func (f jf) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fillRatios sets each run's ratio to the direct run of the same round and scenario.
func fillRatios(runs []run) {
	direct := map[string]*run{}
	for i := range runs {
		if runs[i].Target == tDirect && runs[i].Err == "" {
			direct[fmt.Sprint(runs[i].Round, runs[i].Scenario)] = &runs[i]
		}
	}
	for i := range runs {
		if d := direct[fmt.Sprint(runs[i].Round, runs[i].Scenario)]; d != nil && runs[i].Err == "" {
			runs[i].Ratio = runs[i].RPS / d.RPS
		}
	}
}

func summarize(scs []scenario, targets []string, runs []run) []summaryRow {
	direct := map[string]*run{}
	for i := range runs {
		if runs[i].Target == tDirect && runs[i].Err == "" {
			direct[fmt.Sprint(runs[i].Round, runs[i].Scenario)] = &runs[i]
		}
	}
	var rows []summaryRow
	for _, sc := range scs {
		for _, tn := range targets {
			row := summaryRow{Scenario: sc.ID, Target: tn}
			var rps, ratio, p50, p99, added, pcpu, rcpu []float64
			for i := range runs {
				r := &runs[i]
				if r.Scenario != sc.ID || r.Target != tn {
					continue
				}
				if r.Err != "" {
					row.Errors++
					continue
				}
				row.Rounds++
				rps = append(rps, r.RPS)
				g := r.get()
				p50 = append(p50, g.P50Ms*1000)
				p99 = append(p99, g.P99Ms*1000)
				if d := direct[fmt.Sprint(r.Round, r.Scenario)]; d != nil {
					ratio = append(ratio, r.Ratio)
					added = append(added, (g.P50Ms-d.get().P50Ms)*1000)
				}
				m := float64(r.Commands) / 1e6
				pcpu = append(pcpu, r.ProxyCPU/m)
				rcpu = append(rcpu, r.RedisCPU/m)
			}
			row.RPS, row.Ratio = jf(median(rps)), jf(median(ratio))
			if len(ratio) > 0 {
				row.RatioMin, row.RatioMax = jf(slices.Min(ratio)), jf(slices.Max(ratio))
			}
			row.P50us, row.P99us, row.P50AddedUs = jf(median(p50)), jf(median(p99)), jf(median(added))
			row.ProxyCPUPerM, row.RedisCPUPerM = jf(median(pcpu)), jf(median(rcpu))
			rows = append(rows, row)
		}
	}
	return rows
}

func summarizeSetup(runs []setupRun) []setupSummary {
	var out []setupSummary
	var order []string
	by := map[string][]setupRun{}
	for _, r := range runs {
		if _, ok := by[r.Case]; !ok {
			order = append(order, r.Case)
		}
		by[r.Case] = append(by[r.Case], r)
	}
	for _, c := range order {
		rs := by[c]
		s := setupSummary{Case: c, Target: rs[0].Target, Method: rs[0].Method}
		var ps, cpu []float64
		for _, r := range rs {
			ps = append(ps, r.PerSec)
			if r.Sessions > 0 {
				cpu = append(cpu, r.ProxyCPU/float64(r.Sessions)*1e6)
			}
			s.Errors += r.Errors
			if s.FirstErr == "" {
				s.FirstErr = r.FirstErr
			}
		}
		s.PerSec, s.ProxyCPUUsPer = jf(median(ps)), jf(median(cpu))
		out = append(out, s)
	}
	return out
}

func findRow(rows []summaryRow, sc, tn string) *summaryRow {
	for i := range rows {
		if rows[i].Scenario == sc && rows[i].Target == tn && rows[i].Rounds > 0 {
			return &rows[i]
		}
	}
	return nil
}

// checks compares the run with the targets of issue 6.
func checks(res *results) []check {
	var cs []check
	add := func(name, want, got string, pass bool) {
		cs = append(cs, check{Name: name, Want: want, Got: got, Pass: pass})
	}
	for _, tn := range []string{tRedoubtPT, tRedoubtInsp} {
		for _, m := range []struct {
			sc  string
			min float64
		}{{"c50", 0.85}, {"c50-P16", 0.90}, {"16k", 0.60}} {
			if r := findRow(res.Summary, m.sc, tn); r != nil {
				add(fmt.Sprintf("%s %s ratio", tn, m.sc), fmt.Sprintf("≥ %.2f", m.min), fmt.Sprintf("%.2f", r.Ratio), float64(r.Ratio) >= m.min)
			}
		}
		if r := findRow(res.Summary, "c1", tn); r != nil {
			add(tn+" c1 p50 added", "≤ 40 µs", fmt.Sprintf("%.0f µs", r.P50AddedUs), r.P50AddedUs <= 40)
		}
		for _, peer := range []string{tHAProxy, tHAProxySplice, tTwemproxy} {
			for _, sc := range res.Scenarios {
				r, p := findRow(res.Summary, sc.ID, tn), findRow(res.Summary, sc.ID, peer)
				if r == nil || p == nil {
					continue
				}
				add(fmt.Sprintf("%s %s ahead of %s", tn, sc.ID, peer), fmt.Sprintf("> %.2f", p.Ratio), fmt.Sprintf("%.2f", r.Ratio), r.Ratio > p.Ratio)
			}
		}
	}
	for _, ir := range res.Idle {
		if ir.Target != tRedoubtPT && ir.Target != tRedoubtInsp || ir.Opened == 0 {
			continue
		}
		add(ir.Target+" RSS per idle session", "≤ 8 KiB", fmt.Sprintf("%.1f KiB", ir.ProxyKiBPerConn), ir.ProxyKiBPerConn <= 8)
		add(ir.Target+" pipes while idle", "0", fmt.Sprint(ir.ProxyPipes), ir.ProxyPipes == 0)
		fds9k := float64(ir.ProxyFdsBefore) + 9000*ir.FdsPerConn
		add(ir.Target+" fds for 9,000 sessions", "< 20,000", fmt.Sprintf("%.0f (%.2f/session)", fds9k, ir.FdsPerConn), fds9k < 20000)
	}
	for _, s := range res.Setup {
		if s.Target != tRedoubtPT && s.Target != tRedoubtInsp {
			continue
		}
		add(s.Case+" logins/s", "≥ 20,000", fmt.Sprintf("%.0f", s.PerSec), s.PerSec >= 20000)
	}
	return cs
}

func writeJSON(path string, res *results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func f0[F ~float64](v F) string {
	if math.IsNaN(float64(v)) {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func f2[F ~float64](v F) string {
	if math.IsNaN(float64(v)) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func markdown(res *results) string {
	var b strings.Builder
	m := res.Meta
	fmt.Fprintf(&b, "# redoubt benchmark results\n\n")
	mode := "full"
	if m.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "%s run of %s, %d rounds, %.0f s. Machine: %s, %d cores, Linux %s (%s); load average at start %s, at end %s.  \n",
		mode, m.Date, m.Rounds, m.DurationS, m.CPU, m.Cores, m.Kernel, m.Host, m.LoadAvgStart, m.LoadAvgEnd)
	fmt.Fprintf(&b, "redis-server %s, HAProxy %s, twemproxy %s, redoubt %s (commit %s), %s.  \n", m.Redis, m.HAProxy, m.Twemproxy, m.Redoubt, m.Commit, m.GoVersion)
	if m.RedoubtLimits != "" {
		fmt.Fprintf(&b, "redoubt limits: `{%s}`.  \n", m.RedoubtLimits)
	}
	fmt.Fprintf(&b, "redis-benchmark, redis-server and the proxy share the machine: absolute numbers vary from machine to machine and run to run; compare the ratios (same round) and CPU per command.\n\n")
	if len(m.UnavailableTo) > 0 {
		fmt.Fprintf(&b, "Not measured (tool missing): %s.\n\n", strings.Join(m.UnavailableTo, ", "))
	}

	b.WriteString("## Throughput and latency\n\n")
	b.WriteString("Medians over rounds. ×direct: ops/s divided by direct's in the same round (min–max over rounds). Latency: redis-benchmark's GET p50/p99. CPU: seconds of the proxy process (and of redis-server) per million commands, from /proc/PID/stat.\n\n")
	b.WriteString("| scenario | target | ops/s | ×direct (min–max) | GET p50 µs | GET p99 µs | p50 added µs | proxy CPU s/M cmd | redis CPU s/M cmd |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	titles := map[string]string{}
	for _, s := range res.Scenarios {
		titles[s.ID] = s.Title
	}
	for _, r := range res.Summary {
		if r.Rounds == 0 {
			fmt.Fprintf(&b, "| %s | %s | failed (%d) | | | | | | |\n", titles[r.Scenario], r.Target, r.Errors)
			continue
		}
		ratio := f2(r.Ratio)
		if r.Target != tDirect && !math.IsNaN(float64(r.Ratio)) {
			ratio = fmt.Sprintf("%.2f (%.2f–%.2f)", r.Ratio, r.RatioMin, r.RatioMax)
		}
		pcpu := f2(r.ProxyCPUPerM)
		added := f0(r.P50AddedUs)
		if r.Target == tDirect {
			pcpu, added = "–", "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", titles[r.Scenario], r.Target, f0(r.RPS), ratio,
			f0(r.P50us), f0(r.P99us), added, pcpu, f2(r.RedisCPUPerM))
	}

	if len(res.Idle) > 0 {
		fmt.Fprintf(&b, "\n## Idle connections\n\nEach target on a fresh redis-server and proxy: N connections log in, answer one PING and sit idle; growth of VmRSS (and of descriptors) divided by the connections opened. redoubt runs with GODEBUG=gctrace=1 here; its last collection before the measurement is shown (live heap before->after->marked, goal, scanned stacks).\n\n")
		b.WriteString("| target | opened / wanted | proxy KiB/conn | redis KiB/conn | proxy fds/conn | proxy pipes | errors | redoubt last GC |\n|---|---:|---:|---:|---:|---:|---|---|\n")
		for _, ir := range res.Idle {
			pk, fd, pp := f2(ir.ProxyKiBPerConn), f2(ir.FdsPerConn), fmt.Sprint(ir.ProxyPipes)
			if ir.Target == tDirect {
				pk, fd, pp = "–", "–", "–"
			}
			errs := fmt.Sprint(ir.Errors)
			if ir.FirstErr != "" {
				errs += ": " + mdEscape(ir.FirstErr)
			}
			fmt.Fprintf(&b, "| %s | %d / %d | %s | %s | %s | %s | %s | %s |\n", ir.Target, ir.Opened, ir.Wanted, pk, f2(ir.RedisKiBPerConn), fd, pp, errs, ir.LastGC)
		}
	}

	if len(res.Setup) > 0 {
		fmt.Fprintf(&b, "\n## Session setup\n\n%d client workers loop for %.0f s: connect, AUTH (static secret or signed token; none for the peers), PING, close. Median over rounds.\n\n", m.SetupWorkers, m.SetupSeconds)
		b.WriteString("| case | sessions/s | proxy CPU µs/session | errors |\n|---|---:|---:|---|\n")
		for _, s := range res.Setup {
			cpu := f0(s.ProxyCPUUsPer)
			if s.Target == tDirect {
				cpu = "–"
			}
			errs := fmt.Sprint(s.Errors)
			if s.FirstErr != "" {
				errs += ": " + mdEscape(s.FirstErr)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Case, f0(s.PerSec), cpu, errs)
		}
	}

	if len(res.Syscalls) > 0 {
		b.WriteString("\n## Syscalls per command (strace -c -f on the proxy, one run each)\n\n| scenario | target | syscalls/cmd | largest |\n|---|---|---:|---|\n")
		for _, s := range res.Syscalls {
			if s.Err != "" {
				fmt.Fprintf(&b, "| %s | %s | error | %s |\n", titles[s.Scenario], s.Target, mdEscape(s.Err))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %s |\n", titles[s.Scenario], s.Target, s.PerCommand, topSyscalls(s.Top, 5))
		}
	}

	if len(res.Checks) > 0 {
		b.WriteString("\n## Targets (issue 6)\n\n| target | want | got | met |\n|---|---|---|---|\n")
		for _, c := range res.Checks {
			ok := "no"
			if c.Pass {
				ok = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, c.Want, c.Got, ok)
		}
	}
	b.WriteString("\n![chart](latest.png)\n")
	return b.String()
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
