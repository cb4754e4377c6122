package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// syscallRun is strace -c of a proxy during one redis-benchmark run.
type syscallRun struct {
	Scenario   string             `json:"scenario"`
	Target     string             `json:"target"`
	Commands   int                `json:"commands"`
	Total      int64              `json:"syscalls"`
	PerCommand float64            `json:"syscalls_per_command"`
	Top        map[string]float64 `json:"per_command_by_syscall"` // calls per command
	Err        string             `json:"error,omitempty"`
}

// straceRun attaches strace -c -f to the proxy for one run of s. strace
// slows the proxy down a lot: only the counts mean anything.
func straceRun(ctx context.Context, dir string, t *target, s scenario, redis *proc) syscallRun {
	sr := syscallRun{Scenario: s.ID, Target: t.Name}
	out := filepath.Join(dir, fmt.Sprintf("strace-%s-%s.txt", t.Name, s.ID))
	st := exec.Command("strace", "-c", "-f", "-p", strconv.Itoa(t.Proc.pid()), "-o", out)
	st.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := st.Start(); err != nil {
		sr.Err = err.Error()
		return sr
	}
	time.Sleep(500 * time.Millisecond) // attach to every thread
	r := runBench(ctx, t, s, redis)
	_ = st.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = st.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = st.Process.Kill()
		<-done
	}
	if r.Err != "" {
		sr.Err = r.Err
		return sr
	}
	b, err := os.ReadFile(out)
	if err != nil {
		sr.Err = err.Error()
		return sr
	}
	calls := parseStrace(string(b))
	sr.Commands = r.Commands
	sr.Top = map[string]float64{}
	for name, n := range calls {
		sr.Total += n
		sr.Top[name] = float64(n) / float64(r.Commands)
	}
	sr.PerCommand = float64(sr.Total) / float64(r.Commands)
	return sr
}

// parseStrace reads the summary table of strace -c: calls per syscall.
func parseStrace(s string) map[string]int64 {
	res := map[string]int64{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(f[0], "%") || strings.HasPrefix(f[0], "-") {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue
		}
		// % time, seconds, usecs/call, calls, [errors], syscall
		// (the total line's columns vary between strace versions: skipped,
		// callers add the rows up)
		name := f[len(f)-1]
		calls, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || name == "total" {
			continue
		}
		res[name] = calls
	}
	return res
}

// topSyscalls formats the largest per-command counts, "write 1.02, read 1.01".
func topSyscalls(m map[string]float64, n int) string {
	type kv struct {
		k string
		v float64
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	var parts []string
	for i, e := range l {
		if i == n || e.v < 0.005 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
