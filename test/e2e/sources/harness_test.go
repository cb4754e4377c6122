// Package sources runs redoubt in-process with its watched sources
// (etcd, Kubernetes Secrets) in front of real redis-servers. It is apart
// from test/e2e so that only these tests compile client-go and the etcd
// client. etcd is real (Debian's etcd-server); the Kubernetes API server
// cannot run here, so client-go's fake clientset stands in for it and
// drives the real informers.
package sources

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/cli"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/source/open"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type gateway struct {
	addr, admin string
	log         *logBuffer
}

func freeAddr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t)) }

// startGateway runs `redoubt serve` with cfg (which uses g.addr and
// g.admin through the %[1]s and %[2]s verbs) until the test ends.
func startGateway(t *testing.T, opts open.Options, cfg string) *gateway {
	t.Helper()
	g := &gateway{addr: freeAddr(t), admin: freeAddr(t), log: &logBuffer{}}
	path := filepath.Join(t.TempDir(), "redoubt.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(cfg, g.addr, g.admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(cli.WithSources(context.Background(), open.New(opts)))
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, []string{"serve", "--config", path}, g.log, g.log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", g.admin, 100*time.Millisecond); err == nil {
			c.Close()
			return g
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d:\n%s", code, g.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not up:\n%s", g.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// session is a raw client connection.
type session struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

// login opens a session with AUTH tenant secret; ok says whether it worked.
func (g *gateway) login(t *testing.T, tenant, secret string) (*session, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", g.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &session{t: t, Conn: c, r: bufio.NewReader(c)}
	return s, s.do("AUTH", tenant, secret) == "+OK"
}

// mustLogin waits (a source may take a moment) until tenant can log in.
func (g *gateway) mustLogin(t *testing.T, tenant, secret string) *session {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, ok := g.login(t, tenant, secret)
		if ok {
			return s
		}
		s.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s cannot log in:\n%s", tenant, g.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do sends one command and returns the reply's first line.
func (s *session) do(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write([]byte(b.String())); err != nil {
		return "write: " + err.Error()
	}
	line, err := s.r.ReadString('\n')
	if err != nil {
		return "read: " + err.Error()
	}
	return strings.TrimRight(line, "\r\n")
}

// closedWithin reports whether the server ends the session within d.
func (s *session) closedWithin(d time.Duration) bool {
	_ = s.SetReadDeadline(time.Now().Add(d))
	for {
		if _, err := s.r.ReadByte(); err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout())
		}
	}
}

// api calls the admin API with the bearer token.
func (g *gateway) api(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+g.admin+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	out["_raw"] = string(raw)
	return resp.StatusCode, out
}

func (g *gateway) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + g.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const adminToken = "sources-admin-token-0123456789"
