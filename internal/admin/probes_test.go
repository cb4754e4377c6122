package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProbes walks the probes through a replica's life: starting, ready,
// every upstream unreachable, one back, a failing credential source,
// draining. The upstreams are real sockets: one listening, one closed.
func TestProbes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := proxy.New(proxy.Options{Logger: log})
	if err := p.Listen([]proxy.Listener{{Address: "127.0.0.1:0"}}); err != nil {
		t.Fatal(err)
	}
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()

	targets := map[string]string{"a": deadAddr, "b": deadAddr}
	var sourceErr, fileErr atomic.Pointer[error]
	var gen atomic.Uint64
	sets := make(chan func(), 1)
	a, err := Start("127.0.0.1:0", p, log, Options{
		UnreadyAfter:  50 * time.Millisecond,
		ProbeInterval: 10 * time.Millisecond,
		Upstreams: func() map[string]string {
			select {
			case f := <-sets:
				f()
			default:
			}
			return targets
		},
		Sources: func() []SourceStatus {
			var err error
			if e := sourceErr.Load(); e != nil {
				err = *e
			}
			var ferr error
			if e := fileErr.Load(); e != nil {
				ferr = *e
			}
			return []SourceStatus{{Name: "kubernetes", LastOK: time.Now().Add(-time.Hour), Err: err},
				{Name: "file", LastOK: time.Now().Add(-time.Hour), Err: ferr, Local: true}}
		},
		Snapshot: func() (uint64, time.Time) { return gen.Load(), time.Now() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := "http://" + a.Addr()
	code := func(path string) int { c, _ := get(t, base+path); return c }

	if c := code("/livez"); c != 200 {
		t.Errorf("/livez %d while starting, want 200", c)
	}
	if c := code("/startup"); c != 503 {
		t.Errorf("/startup %d before SetStarted, want 503", c)
	}
	a.SetStarted()
	if c := code("/startup"); c != 503 {
		t.Errorf("/startup %d before the first snapshot, want 503", c)
	}
	gen.Store(1)
	if c := code("/startup"); c != 200 {
		t.Errorf("/startup %d, want 200", c)
	}
	// Both upstreams are closed ports: unready once past UnreadyAfter.
	waitFor(t, "/readyz 503 with every upstream down", func() bool {
		c, body := get(t, base+"/readyz")
		return c == 503 && strings.Contains(body, "every upstream unreachable: a, b")
	})
	// One upstream back: some tenants can work, so ready.
	sets <- func() { targets = map[string]string{"a": deadAddr, "b": up.Addr().String()} }
	waitFor(t, "/readyz 200 with one upstream up", func() bool { return code("/readyz") == 200 })
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{`redoubt_upstream_up{upstream="a"} 0`, `redoubt_upstream_up{upstream="b"} 1`, "redoubt_ready 1", "redoubt_startup_complete 1", "redoubt_snapshot_generation 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	refused := errors.New("connection refused")
	sourceErr.Store(&refused)
	if c, body := get(t, base+"/readyz"); c != 503 || !strings.Contains(body, "credential source kubernetes") {
		t.Errorf("/readyz %d %q with a failing source, want 503 naming it", c, body)
	}
	sourceErr.Store(nil)
	// A refused reload of the configuration file keeps the running view:
	// the replica stays ready, the metric shows it.
	badEdit := errors.New("tenants[0].db: out of range")
	fileErr.Store(&badEdit)
	if c, body := get(t, base+"/readyz"); c != 200 {
		t.Errorf("/readyz %d %q with a refused file reload, want 200", c, body)
	}
	if _, m := get(t, base+"/metrics"); !strings.Contains(m, `redoubt_source_up{source="file"} 0`) {
		t.Errorf("/metrics does not show the file source down")
	}
	fileErr.Store(nil)

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx) }()
	if c := code("/readyz"); c != 200 {
		t.Errorf("/readyz %d while serving, want 200", c)
	}
	cancel()
	<-served
	if c, body := get(t, base+"/readyz"); c != 503 || !strings.Contains(body, "draining") {
		t.Errorf("/readyz %d %q after shutdown began, want 503 draining", c, body)
	}
	if c := code("/livez"); c != 200 {
		t.Errorf("/livez %d while draining, want 200", c)
	}
}
