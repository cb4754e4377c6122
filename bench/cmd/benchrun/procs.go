package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the harness started. Every one is registered so
// that cleanup (normal exit, error or signal) stops them all.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

var (
	procsMu sync.Mutex
	procs   []*proc
)

// start runs name with args, logging to dir/label.log. The child dies with
// the harness (Pdeathsig) even if the harness is killed with SIGKILL.
func start(dir, label string, env []string, name string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, label+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", label, err)
	}
	p := &proc{name: label, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); lf.Close(); close(p.done) }()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// stop sends SIGTERM to this process (by its pid), then SIGKILL after 3 s.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func stopAll() {
	procsMu.Lock()
	ps := procs
	procs = nil
	procsMu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady dials addr until it answers a PING (after auth when given).
func waitReady(p *proc, addr, auth string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited: %s", p.name, p.tail())
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			err = pingConn(c, auth)
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready on %s: %v", p.name, addr, last)
}

// pingConn logs in (when auth is set) and checks a PING.
func pingConn(c net.Conn, auth string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	r := bufio.NewReaderSize(c, 512)
	if auth != "" {
		if v, err := call(c, r, "AUTH", auth); err != nil || v != "OK" {
			return fmt.Errorf("AUTH: %q %v", v, err)
		}
	}
	if v, err := call(c, r, "PING"); err != nil || v != "PONG" {
		return fmt.Errorf("PING: %q %v", v, err)
	}
	return nil
}

// call sends one command and reads one reply: simple strings, errors,
// integers and bulk strings are enough for the harness.
func call(c net.Conn, r *bufio.Reader, args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// cpuTicks returns utime+stime of pid in clock ticks (USER_HZ = 100 on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// after the comm field: state(0) ppid(1) ... utime(11) stime(12)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

const userHZ = 100

// rssKiB returns VmRSS of pid in KiB.
func rssKiB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(v)
			if len(fs) > 0 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// fdCounts returns the number of open descriptors of pid and how many of
// them are pipes.
func fdCounts(pid int) (fds, pipes int) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range ents {
		fds++
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "pipe:") {
			pipes++
		}
	}
	return fds, pipes
}

// ensureTools installs the Debian packages of missing tools. Missing
// optional tools only remove their targets; redis is required.
func ensureTools(noInstall bool, extra map[string]string) map[string]bool {
	want := map[string]string{ // command -> Debian package
		"redis-server":    "redis-server",
		"redis-benchmark": "redis-tools",
		"redis-cli":       "redis-tools",
		"haproxy":         "haproxy",
		"nutcracker":      "nutcracker",
	}
	for k, v := range extra {
		want[k] = v
	}
	var pkgs []string
	seen := map[string]bool{}
	for cmd, pkg := range want {
		if _, err := exec.LookPath(cmd); err != nil && !seen[pkg] {
			seen[pkg] = true
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) > 0 && !noInstall {
		logf("installing %s with apt-get", strings.Join(pkgs, " "))
		sudo := ""
		if os.Getuid() != 0 {
			if _, err := exec.LookPath("sudo"); err == nil {
				sudo = "sudo "
			}
		}
		sh := sudo + "apt-get update -qq && DEBIAN_FRONTEND=noninteractive " + sudo +
			"apt-get install -y -qq " + strings.Join(pkgs, " ")
		out, err := exec.Command("sh", "-c", sh).CombinedOutput()
		if err != nil {
			logf("apt-get failed (%v): %s", err, lastLines(string(out), 5))
		}
	}
	have := map[string]bool{}
	for cmd := range want {
		_, err := exec.LookPath(cmd)
		have[cmd] = err == nil
	}
	return have
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// raiseNofile lifts this process's descriptor limit (and so its children's)
// to at least want when the hard limit allows it, or when running as root.
// It returns the limit in force afterwards.
func raiseNofile(want uint64) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur >= want {
		// Set it anyway: Go restores the pre-start soft limit in children
		// unless the program sets one itself.
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		return rl.Cur
	}
	nl := syscall.Rlimit{Cur: want, Max: max(rl.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		nl = syscall.Rlimit{Cur: rl.Max, Max: rl.Max}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	return rl.Cur
}
