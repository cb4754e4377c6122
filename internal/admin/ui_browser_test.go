package admin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/token"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// artifactDir is where browser tests leave screenshots: $REDOUBT_ARTIFACTS
// or a fixed folder under the system temp dir (never the repository).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("REDOUBT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "redoubt-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUIInChromium drives the /ui/ page in headless Chromium: log in with
// the admin token, find the live session of a running redis-cli, press
// its "End session" button, and see redis-cli's connection closed. The
// proxy, redis-server and redis-cli are real; the token check is a
// constant-time compare standing in for admin.token_env, which the admin
// API brings.
func TestUIInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser, err := chromiumPath()
	if err != nil {
		t.Fatal("chromium not found: run `make deps` (Debian package chromium)")
	}
	cliBin, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli not found: run `make deps`")
	}
	const secret, adminToken = "alice-ui-secret", "ui-test-admin-token"
	up := redistest.Start(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: [{address: 127.0.0.1:0}]
upstreams: {main: {address: %s}}
tenants: [{name: alice, secret_env: ALICE_SECRET, upstream: main, db: 2, role: readwrite}]
tokens: {keys: [{id: k1, secret_env: TOKEN_KEY}]}
limits: {shutdown_grace: 1s}
`, up.Addr)), func(k string) (string, bool) {
		switch k {
		case "ALICE_SECRET":
			return secret, true
		case "TOKEN_KEY":
			return "0123456789abcdef0123456789abcdef", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := func(_ string, a config.UpstreamAuth) (upstream.Credentials, error) {
		return upstream.StaticCreds(a), nil
	}
	dir, err := tenant.Build(cfg, creds, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tenant.Keyring(cfg.Tokens.Keys)
	if err != nil {
		t.Fatal(err)
	}
	aliceToken, claims, err := kr.Issue(token.Claims{Tenant: "alice"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := proxy.New(proxy.Options{Logger: log, Directory: dir, Limits: cfg.Limits})
	if err := p.Listen([]proxy.Listener{{Address: "127.0.0.1:0"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	var revokedMu sync.Mutex
	var revoked []string
	a, err := Start("127.0.0.1:0", p, log, Options{
		Authenticate: func(tok string) (string, bool) {
			return "operator", subtle.ConstantTimeCompare([]byte(tok), []byte(adminToken)) == 1
		},
		// Revocation through the token revocation list, as an edit of
		// tokens.revoked and a reload would do (the run-time store of the
		// admin API does the same for its credentials).
		RevokeCredential: func(tenantName, id string) error {
			c := *cfg
			c.Tokens.Revoked = append(append([]string(nil), cfg.Tokens.Revoked...), id)
			d, err := tenant.Build(&c, creds, time.Now)
			if err != nil {
				return err
			}
			p.Reload(d, c.Limits)
			revokedMu.Lock()
			revoked = append(revoked, tenantName+"/"+id)
			revokedMu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetStarted()

	// A redis-cli blocked in BLPOP: a live session until someone ends it.
	host, port, _ := strings.Cut(p.Addrs()[0], ":")
	type cli struct {
		out  *bytes.Buffer
		done chan error
		id   uint64
	}
	startCLI := func(login ...string) *cli {
		c := &cli{out: &bytes.Buffer{}, done: make(chan error, 1)}
		if login == nil {
			login = []string{"--user", "alice", "--pass", secret}
		}
		args := append([]string{"-h", host, "-p", port}, login...)
		rc := exec.Command(cliBin, append(args, "--no-auth-warning", "BLPOP", "never-pushed", "0")...)
		rc.Stdout, rc.Stderr = c.out, c.out
		if err := rc.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { c.done <- rc.Wait() }()
		t.Cleanup(func() { rc.Process.Kill() })
		known := map[uint64]bool{}
		for _, s := range p.Registry().List() {
			known[s.ID] = true
		}
		waitFor(t, "redis-cli's session", func() bool {
			for _, s := range p.Registry().List() {
				if !known[s.ID] && s.Tenant == "alice" && s.BytesIn > 0 { // logged in and BLPOP sent
					c.id = s.ID
					return true
				}
			}
			return false
		})
		return c
	}
	first := startCLI()
	id, cliOut, cliDone := first.id, first.out, first.done

	var browserOut bytes.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1200, 700),
		chromedp.CombinedOutput(&browserOut))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 30*time.Second)
	defer tcancel()
	// The End button asks for confirmation: accept it as a user would.
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	base := "http://" + a.Addr()
	row := chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"]`, id))
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("browser, %s: %v\nbrowser output:\n%s", what, err, browserOut.String())
		}
	}
	must("logging in", chromedp.Do(bctx,
		chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("token")),
	))
	loginURL, err := chromedp.Run(bctx, chromedp.Location())
	must("location", err)
	must("logging in", chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("token"), adminToken),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(row),
	))
	rowText, err := chromedp.Run(bctx, chromedp.Text(row))
	must("reading the row", err)
	heading, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`section.group h2`)))
	must("reading the heading", err)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	must("screenshot", err)
	if loginURL != base+"/ui/login" {
		t.Errorf("unauthenticated /ui/ went to %s, want the login form", loginURL)
	}
	if !strings.Contains(heading, "alice") || !strings.Contains(heading, "main") || !strings.Contains(rowText, "inspected") || !strings.Contains(rowText, "secret") {
		t.Errorf("session row %q under %q: want alice → main, inspected, logged in with a secret", rowText, heading)
	}
	shotPath := filepath.Join(artifactDir(t), "ui-sessions.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shotPath)

	must("ending the session", chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"] button.end`, id))),
		chromedp.WaitVisible(chromedp.CSS(`p.done`)),
		chromedp.WaitNotPresent(row),
	))
	done, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`p.done`)))
	must("reading the message", err)
	if done != fmt.Sprintf("ended session %d", id) {
		t.Errorf("page says %q", done)
	}
	select {
	case err := <-cliDone:
		if err == nil || !strings.Contains(cliOut.String(), "closed") {
			t.Errorf("redis-cli ended with %v, output %q: want an error saying the server closed the connection", err, cliOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("redis-cli still running after its session was ended; output %q", cliOut.String())
	}
	for _, s := range p.Registry().List() {
		if s.ID == id {
			t.Errorf("session %d still registered", id)
		}
	}

	// A new session shows up without a reload: the page's script fetches
	// the table every few seconds (allowed by its own CSP).
	second := startCLI()
	must("seeing a new session appear", chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"]`, second.id))),
	))

	// A session logged in with a signed token has a credential id and a
	// revoke button; revoking ends that session and no other.
	third := startCLI("--pass", aliceToken)
	revokeBtn := chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"] button.revoke`, third.id))
	must("seeing the token's session", chromedp.Do(bctx, chromedp.WaitVisible(revokeBtn)))
	shot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	must("screenshot", err)
	if err := os.WriteFile(filepath.Join(artifactDir(t), "ui-revoke.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	must("revoking the token", chromedp.Do(bctx,
		chromedp.Click(revokeBtn),
		chromedp.WaitVisible(chromedp.CSS(`p.done`)),
	))
	done, err = chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`p.done`)))
	must("reading the message", err)
	revokedMu.Lock()
	defer revokedMu.Unlock()
	if want := "revoked credential alice/" + claims.ID; done != want || len(revoked) != 1 {
		t.Errorf("page says %q, revoked %v; want %q", done, revoked, want)
	}
	select {
	case err := <-third.done:
		if err == nil || !strings.Contains(third.out.String(), "closed") {
			t.Errorf("token redis-cli ended with %v, output %q", err, third.out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the revoked token's redis-cli still runs; output %q", third.out.String())
	}
	select {
	case err := <-second.done:
		t.Errorf("the secret's redis-cli ended too: %v %q", err, second.out.String())
	default:
	}
}

// chromiumPath prefers the browser binary itself over Debian's
// /usr/bin/chromium launcher script.
func chromiumPath() (string, error) {
	if p := "/usr/lib/chromium/chromium"; fileExists(p) {
		return p, nil
	}
	return exec.LookPath("chromium")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
