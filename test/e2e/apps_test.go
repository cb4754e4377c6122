package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Real applications, unchanged, on a DB-pinned readwrite tenant of an
// upstream that another tenant shares (managed per-tenant upstream users,
// so their Lua scripts run). Each app gets only REDIS_URL. The programs
// are in test/apps; scripts/deps.d/40-apps.sh installs what they need.
// A missing package skips its test with a loud message.

const (
	appsDB        = 3
	appsNeighbour = 4
	appsAdminPass = "apps-admin-pass-0123456789"
	appsSecret    = "apps-tenant-secret-0123456789"
)

type appsEnv struct {
	srv       *redistest.Server
	url       string // the tenant's REDIS_URL through the gateway
	neighbour *redis.Client
	before    map[string]string
}

func startAppsEnv(t *testing.T) *appsEnv {
	t.Helper()
	t.Setenv("APPS_ADMIN_PASSWORD", appsAdminPass)
	t.Setenv("APPS_SECRET", appsSecret)
	t.Setenv("APPS_NEIGHBOUR_SECRET", "apps-neighbour-secret-0123456789")
	e := &appsEnv{srv: redistest.Start(t, "--requirepass", appsAdminPass)}
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  shared: {address: %s, auth: {mode: password, password_env: APPS_ADMIN_PASSWORD}, tenant_users: managed}
tenants:
  - {name: app, secret_env: APPS_SECRET, upstream: shared, db: %d, role: readwrite}
  - {name: neighbour, secret_env: APPS_NEIGHBOUR_SECRET, upstream: shared, db: %d, role: readwrite}
`, addr, e.srv.Addr, appsDB, appsNeighbour), addr)
	e.url = (&url.URL{Scheme: "redis", User: url.UserPassword("app", appsSecret), Host: addr}).String()
	e.neighbour = redis.NewClient(&redis.Options{Addr: e.srv.Addr, Password: appsAdminPass, DB: appsNeighbour, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { e.neighbour.Close() })
	ctx := context.Background()
	// The neighbour's DB holds keys with the names the apps use.
	for _, k := range []string{"celery", "rq:queues", "queue:default", "bull:redoubt:id", "redoubt-lock", "sidekiq-done"} {
		mustOK(t, e.neighbour.Set(ctx, k, "neighbour", 0).Err())
	}
	e.before = tuSnapshot(t, e.neighbour)
	t.Cleanup(func() {
		if after := tuSnapshot(t, e.neighbour); !mapsEqual(e.before, after) {
			t.Errorf("the neighbour's DB changed:\nbefore %v\nafter  %v", e.before, after)
		}
	})
	return e
}

// appsDir is test/apps.
func appsDir(t *testing.T) string {
	d, err := filepath.Abs("../apps")
	mustOK(t, err)
	return d
}

// needApp skips, loudly, when a program or module the app needs is missing.
func needApp(t *testing.T, what string, check *exec.Cmd) {
	t.Helper()
	check.Dir = appsDir(t)
	if out, err := check.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("SKIPPED: %s is not installed here (%v: %s); make deps installs it (scripts/deps.d/40-apps.sh)", what, err, bytes.TrimSpace(out))
		fmt.Fprintln(os.Stderr, "!!! "+msg)
		t.Skip(msg)
	}
}

// runApp runs a program of test/apps with REDIS_URL and fails the test
// with its output when it fails or outlives timeout.
func (e *appsEnv) runApp(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = appsDir(t)
	cmd.Env = append(os.Environ(), "REDIS_URL="+e.url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, tail(out))
	}
	return string(out)
}

// startWorker starts a long-running worker of test/apps and stops it
// (SIGTERM, then SIGKILL) when the test ends; its output is shown on failure.
func (e *appsEnv) startWorker(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = appsDir(t)
	cmd.Env = append(os.Environ(), "REDIS_URL="+e.url)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its children (pool processes) go with it
	mustOK(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail([]byte(out.String())))
		}
	})
}

func tail(b []byte) string {
	const n = 4000
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}

const python = "/usr/bin/python3" // Debian's, which sees the python3-* packages

func TestAppCelery(t *testing.T) {
	needApp(t, "Celery (python3-celery)", exec.Command(python, "-c", "import celery"))
	e := startAppsEnv(t)
	// The worker with its defaults (gossip, mingle and heartbeat use the
	// broker's fanout, i.e. PSUBSCRIBE), one process to spare the CPUs.
	e.startWorker(t, python, "-m", "celery", "-A", "celery_app", "worker", "--pool=solo", "-l", "warning")
	out := e.runApp(t, 90*time.Second, python, "celery_app.py", "100")
	if !strings.Contains(out, "celery: 100 tasks done") {
		t.Fatalf("celery: %s", out)
	}
}

func TestAppRQ(t *testing.T) {
	needApp(t, "RQ (python3-rq)", exec.Command(python, "-c", "import rq"))
	e := startAppsEnv(t)
	out := e.runApp(t, 90*time.Second, python, "rq_app.py", "100")
	if !strings.Contains(out, "rq: 100 jobs done") {
		t.Fatalf("rq: %s", out)
	}
}

func TestAppRedisPyLock(t *testing.T) {
	needApp(t, "redis-py (python3-redis)", exec.Command(python, "-c", "import redis"))
	e := startAppsEnv(t)
	out := e.runApp(t, 60*time.Second, python, "lock_app.py")
	if !strings.Contains(out, "lock: acquire/extend/release across two clients ok") {
		t.Fatalf("lock: %s", out)
	}
}

func TestAppBullMQ(t *testing.T) {
	needApp(t, "node", exec.Command("node", "--version"))
	needApp(t, "BullMQ and ioredis (npm, test/apps/node_modules)", exec.Command("node", "-e", "require('bullmq'); require('ioredis')"))
	e := startAppsEnv(t)
	out := e.runApp(t, 90*time.Second, "node", "bullmq_app.js", "100")
	if !strings.Contains(out, "bullmq: 100 jobs done") {
		t.Fatalf("bullmq: %s", out)
	}
}

func TestAppSidekiq(t *testing.T) {
	needApp(t, "Sidekiq (ruby-sidekiq)", exec.Command("ruby", "-e", "require 'sidekiq'"))
	e := startAppsEnv(t)
	e.startWorker(t, "sidekiq", "-r", "./sidekiq_app.rb", "-c", "5")
	out := e.runApp(t, 90*time.Second, "ruby", "sidekiq_app.rb", "100")
	if !strings.Contains(out, "sidekiq: 100 jobs done") {
		t.Fatalf("sidekiq: %s", out)
	}
}
