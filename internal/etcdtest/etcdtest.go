// Package etcdtest starts real etcd servers (Debian's etcd-server package,
// /usr/bin/etcd) for tests, on free loopback ports, as redistest does for
// redis-server. It does not import the etcd client, so it costs nothing to
// compile.
package etcdtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Server is one running single-member etcd.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string
	tb       testing.TB
	args     []string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Binary returns the etcd path, or skips the test outside CI when it is
// missing (make deps installs it; in CI its absence fails the test).
func Binary(tb testing.TB) string {
	tb.Helper()
	return redistest.Require(tb, "etcd", "make deps installs Debian's etcd-server")
}

// Start runs etcd until the test ends.
func Start(tb testing.TB) *Server { return start(tb, "http") }

// StartTLS runs etcd with TLS on its client port: certFile and keyFile
// are its certificate (valid for 127.0.0.1), and clients must present a
// certificate signed by caFile.
func StartTLS(tb testing.TB, certFile, keyFile, caFile string) *Server {
	tb.Helper()
	return start(tb, "https", "--cert-file", certFile, "--key-file", keyFile,
		"--trusted-ca-file", caFile, "--client-cert-auth")
}

func start(tb testing.TB, scheme string, extra ...string) *Server {
	tb.Helper()
	bin := Binary(tb)
	client, peer := redistest.FreePort(tb), redistest.FreePort(tb)
	dir := tb.TempDir()
	c := fmt.Sprintf("%s://127.0.0.1:%d", scheme, client)
	p := fmt.Sprintf("http://127.0.0.1:%d", peer)
	s := &Server{Endpoint: c, Dir: dir, tb: tb, args: []string{
		bin, "--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", c, "--advertise-client-urls", c,
		"--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
		"--initial-cluster", "test=" + p,
		"--logger", "zap", "--log-outputs", filepath.Join(dir, "etcd.log"), "--log-level", "warn",
	}}
	s.args = append(s.args, extra...)
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start etcd: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.exited)
	addr := s.Endpoint[strings.Index(s.Endpoint, "://")+3:]
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			break
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "etcd.log"))
			s.tb.Fatalf("etcd exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("etcd did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills etcd (idempotent); its data stays for Restart.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart stops etcd and starts it again on the same ports and data.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}
