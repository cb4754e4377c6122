// Command benchrun measures redoubt against a direct redis-server, HAProxy
// (mode tcp) and twemproxy on the same machine, in the same run: throughput
// and latency with redis-benchmark (interleaved round by round), memory and
// descriptors of idle connections, and the session setup rate. It writes
// bench/results/latest.{json,md,png}. See docs/benchmarks.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

type options struct {
	redoubt      string
	rounds       int
	quick        bool
	scale        float64
	idle         int
	setupTime    time.Duration
	setupWorkers int
	targets      string
	strace       bool
	out          string
	keep         bool
	noInstall    bool
	skipLoad     bool
	limits       string
	large        bool
}

func main() {
	var o options
	flag.StringVar(&o.redoubt, "redoubt", "bin/redoubt", "redoubt binary to measure")
	flag.IntVar(&o.rounds, "rounds", 0, "rounds of the load scenarios and session setup (default 5, -quick 3)")
	flag.BoolVar(&o.quick, "quick", false, "small request counts and few idle connections (about 2 minutes)")
	flag.Float64Var(&o.scale, "scale", 1, "multiply every scenario's request count")
	flag.IntVar(&o.idle, "idle", 0, "idle connections per target (default 10000, -quick 500; -1 skips)")
	flag.DurationVar(&o.setupTime, "setup-time", 0, "duration of each session setup loop (default 3s, -quick 1s; -1s skips)")
	flag.IntVar(&o.setupWorkers, "setup-workers", 8, "concurrent clients in the session setup loop")
	flag.StringVar(&o.targets, "targets", strings.Join([]string{tDirect, tRedoubtPT, tRedoubtInsp, tHAProxy, tTwemproxy}, ","),
		"targets, in round order (also: "+tHAProxySplice+")")
	flag.BoolVar(&o.strace, "strace", false, "also count the proxies' syscalls per command with strace -c -f (one extra run per scenario)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for latest.json, latest.md, latest.png")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs)")
	flag.BoolVar(&o.noInstall, "no-install", false, "do not apt-get install missing tools")
	flag.BoolVar(&o.skipLoad, "skip-load", false, "skip the redis-benchmark scenarios")
	flag.BoolVar(&o.large, "large", false, "add a 256 KiB value scenario (where splice can pay)")
	flag.StringVar(&o.limits, "redoubt-limits", "", `extra redoubt limits, YAML flow style, e.g. "passthrough_buf_size: 65536, splice_min_bytes: 16384"`)
	flag.Parse()
	if o.rounds <= 0 {
		o.rounds = 5
		if o.quick {
			o.rounds = 3
		}
	}
	if o.idle == 0 {
		o.idle = 10000
		if o.quick {
			o.idle = 500
		}
	}
	if o.setupTime == 0 {
		o.setupTime = 3 * time.Second
		if o.quick {
			o.setupTime = time.Second
		}
	}
	code := 0
	if err := runAll(o); err != nil {
		if errors.Is(err, context.Canceled) {
			select {} // interrupted: the signal handler finishes cleaning up and exits
		}
		logf("error: %v", err)
		code = 1
	}
	os.Exit(code)
}

func runAll(o options) error {
	began := time.Now()
	bin, err := filepath.Abs(o.redoubt)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("redoubt binary: %v (run make build, or go build -o bin/redoubt ./cmd/redoubt)", err)
	}
	names := strings.Split(o.targets, ",")
	for _, n := range names {
		if !slices.Contains(allTargets, n) {
			return fmt.Errorf("unknown target %q (known: %s)", n, strings.Join(allTargets, ", "))
		}
	}
	if !slices.Contains(names, tDirect) {
		names = append([]string{tDirect}, names...)
	}
	extra := map[string]string{}
	if o.strace {
		extra["strace"] = "strace"
	}
	have := ensureTools(o.noInstall, extra)
	if !have["redis-server"] || !have["redis-benchmark"] {
		return fmt.Errorf("redis-server and redis-benchmark are required (apt-get install redis-server redis-tools)")
	}
	res := &results{}
	var targets []string
	for _, n := range names {
		need := map[string]string{tHAProxy: "haproxy", tHAProxySplice: "haproxy", tTwemproxy: "nutcracker"}[n]
		if need != "" && !have[need] {
			logf("%s: %s is not installed, skipping", n, need)
			res.Meta.UnavailableTo = append(res.Meta.UnavailableTo, n)
			continue
		}
		targets = append(targets, n)
	}
	if o.idle > 0 {
		res.Meta.NofileLimit = raiseNofile(uint64(2*o.idle + 4096))
	} else {
		res.Meta.NofileLimit = raiseNofile(0)
	}

	dir, err := os.MkdirTemp("", "redoubt-bench-")
	if err != nil {
		return err
	}
	cleanup := func() {
		stopAll()
		if o.keep {
			logf("kept %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	}
	defer cleanup()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		logf("%v: stopping", s)
		cancel()
		cleanup()
		os.Exit(130)
	}()

	fillMeta(&res.Meta, o, bin)
	scs := scenarios(o.quick, o.large, o.scale)
	res.Scenarios = scs

	// Throughput, latency, CPU: one stack, interleaved round by round.
	if !o.skipLoad || o.setupTime > 0 {
		st, err := newStack(stackConfig{dir: dir, redoubtBin: bin, limits: o.limits, maxConns: 2000, nofile: res.Meta.NofileLimit}, targets)
		if err != nil {
			return err
		}
		if !o.skipLoad {
			logf("warm-up")
			for _, tn := range targets {
				w := scs[0]
				w.N = max(2000, w.N/5)
				if r := runBench(ctx, st.targets[tn], w, st.redis); r.Err != "" {
					return fmt.Errorf("warm-up %s: %s", tn, r.Err)
				}
			}
			for round := 1; round <= o.rounds; round++ {
				for _, sc := range scs {
					line := fmt.Sprintf("round %d/%d %-8s", round, o.rounds, sc.ID)
					for _, tn := range targets {
						if ctx.Err() != nil {
							return ctx.Err()
						}
						r := runBench(ctx, st.targets[tn], sc, st.redis)
						r.Round = round
						res.Runs = append(res.Runs, r)
						if r.Err != "" {
							line += fmt.Sprintf("  %s: ERROR", tn)
							logf("%s %s: %s", tn, sc.ID, r.Err)
						} else {
							line += fmt.Sprintf("  %s %.0f", tn, r.RPS)
						}
					}
					logf("%s", line)
				}
			}
			fillRatios(res.Runs)
		}
		if o.setupTime > 0 {
			if err := runSetup(res, st, targets, o); err != nil {
				return err
			}
		}
		if o.strace && !o.skipLoad {
			for _, sc := range scs {
				for _, tn := range targets {
					t := st.targets[tn]
					if t.Proc == nil {
						continue
					}
					s := sc
					s.N = max(2000, s.N/4)
					logf("strace %s %s", tn, sc.ID)
					res.Syscalls = append(res.Syscalls, straceRun(ctx, dir, t, s, st.redis))
				}
			}
		}
		st.stop()
	}

	// Idle connections: a fresh redis-server and proxy for each target, so
	// memory freed by one measurement cannot hide the next one's growth.
	if o.idle > 0 {
		for _, tn := range targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st, err := newStack(stackConfig{dir: dir, redoubtBin: bin, limits: o.limits, gctrace: true, maxConns: o.idle, nofile: res.Meta.NofileLimit}, []string{tn})
			if err != nil {
				return err
			}
			ir := measureIdle(st.targets[tn], st.redis, o.idle)
			if st.redoubt != nil {
				ir.LastGC = lastGCLine(st.redoubt.log)
			}
			logf("idle %s: %d/%d open, proxy %.2f KiB/conn, redis %.2f KiB/conn, %.2f fds/conn, %d pipes, %d errors %s",
				tn, ir.Opened, ir.Wanted, ir.ProxyKiBPerConn, ir.RedisKiBPerConn, ir.FdsPerConn, ir.ProxyPipes, ir.Errors, ir.FirstErr)
			res.Idle = append(res.Idle, ir)
			st.stop()
		}
	}

	res.Summary = summarize(scs, targets, res.Runs)
	res.Setup = summarizeSetup(res.SetupRuns)
	res.Checks = checks(res)
	res.Meta.LoadAvgEnd = loadAvg()
	res.Meta.DurationS = time.Since(began).Seconds()
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(o.out, "latest.json"), res); err != nil {
		return err
	}
	md := markdown(res)
	if err := os.WriteFile(filepath.Join(o.out, "latest.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := drawChart(filepath.Join(o.out, "latest.png"), res, targets); err != nil {
		return err
	}
	fmt.Print(md)
	logf("wrote %s/latest.{json,md,png} in %s", o.out, time.Since(began).Round(time.Second))
	return nil
}

// runSetup measures session setup: the peers (no AUTH) as reference, and
// redoubt with a static secret and with a signed token.
func runSetup(res *results, st *stack, targets []string, o options) error {
	var cases []setupCase
	for _, tn := range targets {
		t := st.targets[tn]
		switch tn {
		case tRedoubtPT, tRedoubtInsp:
			tenant := "pt"
			if tn == tRedoubtInsp {
				tenant = "insp"
			}
			cases = append(cases, setupCase{Name: tn + "/static", Target: t, Auth: t.Auth, Method: "static"})
			tok, err := st.issueToken(tenant)
			if err != nil {
				logf("token: %v (skipping token logins)", err)
				continue
			}
			cases = append(cases, setupCase{Name: tn + "/token", Target: t, Auth: tok, Method: "token"})
		default:
			cases = append(cases, setupCase{Name: tn, Target: t, Method: "none"})
		}
	}
	for round := 1; round <= o.rounds; round++ {
		line := fmt.Sprintf("setup round %d/%d", round, o.rounds)
		for _, c := range cases {
			r := measureSetup(c, st.redis, o.setupWorkers, o.setupTime)
			r.Round = round
			res.SetupRuns = append(res.SetupRuns, r)
			line += fmt.Sprintf("  %s %.0f/s", c.Name, r.PerSec)
			if r.Errors > 0 {
				line += fmt.Sprintf(" (%d errors: %s)", r.Errors, r.FirstErr)
			}
			// let TIME_WAIT and the proxies' goroutines drain between cases
			time.Sleep(200 * time.Millisecond)
		}
		logf("%s", line)
	}
	return nil
}

func fillMeta(m *meta, o options, bin string) {
	m.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	m.Host, _ = os.Hostname()
	m.Kernel = strings.TrimSpace(readFile("/proc/sys/kernel/osrelease"))
	m.CPU = cpuModel()
	m.Cores = runtime.NumCPU()
	m.GoVersion = runtime.Version()
	m.Redis = firstMatch(cmdOut("redis-server", "--version"), "v=")
	m.HAProxy = firstField(cmdOut("haproxy", "-v"), 2)
	m.Twemproxy = strings.TrimPrefix(firstField(cmdOut("nutcracker", "--version"), 2), "nutcracker-")
	m.Redoubt = strings.TrimPrefix(strings.TrimSpace(firstLine(cmdOut(bin, "version"))), "redoubt ")
	m.Commit = strings.TrimSpace(cmdOut("git", "rev-parse", "--short", "HEAD"))
	m.Rounds, m.Quick, m.IdleConns = o.rounds, o.quick, max(0, o.idle)
	m.SetupSeconds, m.SetupWorkers = o.setupTime.Seconds(), o.setupWorkers
	m.LoadAvgStart = loadAvg()
	m.CommandLine = strings.Join(os.Args[1:], " ")
	m.RedoubtLimits = o.limits
}

func readFile(p string) string { b, _ := os.ReadFile(p); return string(b) }

func cmdOut(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	return string(out)
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func firstField(s string, i int) string {
	f := strings.Fields(firstLine(s))
	if len(f) > i {
		return f[i]
	}
	return ""
}

func firstMatch(s, prefix string) string {
	for _, f := range strings.Fields(s) {
		if v, ok := strings.CutPrefix(f, prefix); ok {
			return v
		}
	}
	return ""
}

func loadAvg() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
