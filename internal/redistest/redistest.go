// Package redistest starts real redis-server processes for tests on free
// loopback ports. Tests in redoubt run against the real thing, not mocks.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one running redis-server.
type Server struct {
	Addr string // 127.0.0.1:PORT (the plain port; empty when only TLS is on)
	Port int
	// TLSAddr is set when the server was started with TLS (see StartTLS).
	TLSAddr string
	Dir     string
	cmd     *exec.Cmd
}

// Binary returns the redis-server path or skips the test when it is missing
// outside CI (see Require).
func Binary(tb testing.TB) string {
	tb.Helper()
	return Require(tb, "redis-server", "run make test, which installs it")
}

// Require returns the path of the test server binary name, or skips the
// test when it is missing outside CI (install says how to get it). In CI
// (CI=true) a missing binary fails the test: make deps installs it, so its
// absence is a bug, not a reason to skip.
func Require(tb testing.TB, name, install string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s not found in CI: %v", name, err)
		}
		tb.Skipf("%s not installed (%s)", name, install)
	}
	return p
}

// FreePort returns a currently free loopback TCP port.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs redis-server on a free port with extra arguments
// ("--requirepass", "x", ...) and stops it when the test ends.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin := Binary(tb)
	port := FreePort(tb)
	dir := tb.TempDir()
	base := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir}
	s.start(tb, bin, append(base, args...), s.Addr)
	return s
}

// StartTLS runs redis-server with only a TLS port, using the given
// certificate, key and CA files, and client certificates not required.
func StartTLS(tb testing.TB, certFile, keyFile, caFile string, args ...string) *Server {
	tb.Helper()
	bin := Binary(tb)
	port := FreePort(tb)
	dir := tb.TempDir()
	base := []string{
		"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	s := &Server{TLSAddr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir}
	s.start(tb, bin, append(base, args...), s.TLSAddr)
	return s
}

func (s *Server) start(tb testing.TB, bin string, args []string, waitAddr string) {
	tb.Helper()
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", waitAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	tb.Fatalf("redis-server on %s did not come up: %s", waitAddr, log)
}

// Stop kills the server (idempotent). Tests use it to simulate an upstream
// that dies.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Do sends one command directly to the server (plain port) and returns the
// raw first reply line(s) as read until a complete simple reply. It is meant
// for test setup and checks (SET a key, read INFO), not for parsing
// arbitrary replies: it returns the whole reply for +, -, : and $ replies.
func (s *Server) Do(tb testing.TB, args ...string) string {
	tb.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		tb.Fatalf("dial redis: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		tb.Fatalf("write redis: %v", err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		tb.Fatalf("read redis: %v", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") {
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "(nil)"
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			tb.Fatalf("read redis bulk: %v", err)
		}
		return string(buf[:n])
	}
	return line
}
