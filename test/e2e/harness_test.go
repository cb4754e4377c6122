// Package e2e runs redoubt in-process (through the same CLI entry point as
// the binary) in front of real redis-server processes, and drives it with
// real clients: go-redis v9, redis-cli, raw sockets.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/cli"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// syncBuffer collects the gateway's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Gateway is a running `redoubt serve`.
type Gateway struct {
	ConfigPath string
	Log        *syncBuffer
	cancel     context.CancelFunc
	done       chan int
}

// freeAddr returns 127.0.0.1:PORT with a currently free port.
func freeAddr(t testing.TB) string {
	return fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
}

// startGateway writes cfg to a file and runs `redoubt serve` on it until
// the test ends. The config's listeners must use fixed ports (freeAddr);
// startGateway waits until every address in wait accepts connections.
func startGateway(t testing.TB, cfg string, wait ...string) *Gateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "redoubt.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &Gateway{ConfigPath: path, Log: &syncBuffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { g.done <- cli.Run(ctx, []string{"serve", "--config", path}, g.Log, g.Log) }()
	t.Cleanup(g.Stop)
	for _, addr := range wait {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case code := <-g.done:
				t.Fatalf("redoubt serve exited with %d:\n%s", code, g.Log.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("gateway did not listen on %s:\n%s", addr, g.Log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return g
}

// Stop shuts the gateway down (idempotent) and returns its exit code.
func (g *Gateway) Stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case <-g.done:
	case <-time.After(40 * time.Second):
	}
}

// Rewrite replaces the config file (the gateway reloads within ~1 s).
func (g *Gateway) Rewrite(t testing.TB, cfg string) {
	t.Helper()
	tmp := g.ConfigPath + ".new"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// Make sure the stamp changes even within the same mtime tick.
	time.Sleep(10 * time.Millisecond)
	if err := os.Rename(tmp, g.ConfigPath); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawConn is a plain socket for byte-level tests.
type rawConn struct {
	t testing.TB
	net.Conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := r.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// expect reads until the accumulated bytes equal want (or fails on
// mismatch / timeout).
func (r *rawConn) expect(want string) {
	r.t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, len(want))
	buf := make([]byte, 4096)
	for len(got) < len(want) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if !strings.HasPrefix(want, string(got[:min(len(got), len(want))])) {
			r.t.Fatalf("got %q, want %q", got, want)
		}
		if err != nil {
			r.t.Fatalf("read after %q: %v (want %q)", got, err, want)
		}
	}
	if string(got) != want {
		r.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectClosed asserts the server closes the connection (after reading
// anything still pending).
func (r *rawConn) expectClosed() {
	r.t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := r.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			r.t.Fatalf("connection still open")
		}
		return
	}
}

// sha256hex is what secret_sha256 holds.
func sha256hex(s string) string {
	d := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", d[:])
}

// runCLI runs one redoubt command in-process and returns its exit code,
// stdout and stderr.
func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := cli.Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}
