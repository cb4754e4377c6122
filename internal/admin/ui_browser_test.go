package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/store"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
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
// the admin token of the configuration (admin.token_env), find the live
// session of a running redis-cli, press its "End session" button, and see
// redis-cli's connection closed; then revoke a credential issued through
// the /v1/ API and see only that credential's redis-cli closed. The proxy,
// control plane (file + bbolt store), redis-server and redis-cli are real.
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
	const bobSecret = "bob-file-secret"
	up := redistest.Start(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: [{address: 127.0.0.1:0}]
admin: {address: 127.0.0.1:0, token_env: ADMIN_TOKEN}
upstreams: {main: {address: %s}}
tenants: [{name: bob, secret_env: BOB_SECRET, upstream: main, db: 3, role: readwrite}]
limits: {shutdown_grace: 1s}
`, up.Addr)), func(k string) (string, bool) {
		switch k {
		case "ADMIN_TOKEN":
			return "ui-test-admin-token", true
		case "BOB_SECRET":
			return bobSecret, true
		}
		return "", false
	}, controlplane.ConfigHooks())
	if err != nil {
		t.Fatal(err)
	}
	adminToken := cfg.Admin.Token
	if adminToken == "" {
		t.Fatal("admin.token_env not resolved")
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := proxy.New(proxy.Options{Logger: log, Directory: tenant.NewDirectory(nil, nil), Limits: cfg.Limits})
	plane := controlplane.New(controlplane.Options{
		Sources: []model.Source{controlplane.NewFile("", cfg), st},
		Store:   st,
		Log:     log,
		Apply:   func(s *controlplane.State) int { return p.Swap(s.Directory, cfg.Limits) },
	})
	if _, err := plane.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Listen([]proxy.Listener{{Address: "127.0.0.1:0"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	a, err := Start("127.0.0.1:0", p, log, Options{Plane: plane, Auth: NewAuthenticator(adminToken, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetStarted()
	base := "http://" + a.Addr()

	// The tenant and two credentials come from the /v1/ API, as an
	// operator's script would make them.
	call := func(method, path, body string) []byte {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, out)
		}
		return out
	}
	call("PUT", "/v1/tenants/alice", `{"upstream": "main", "db": 2, "role": "readwrite"}`)
	issue := func(id string) string {
		var c CredentialJSON
		if err := json.Unmarshal(call("POST", "/v1/tenants/alice/credentials", `{"id": "`+id+`"}`), &c); err != nil || c.Secret == "" {
			t.Fatalf("issuing %s: %v %+v", id, err, c)
		}
		return c.Secret
	}
	laptop, ci := issue("laptop"), issue("ci")

	// A redis-cli blocked in BLPOP: a live session until someone ends it.
	host, port, _ := strings.Cut(p.Addrs()[0], ":")
	type cli struct {
		out  *bytes.Buffer
		done chan error
		id   uint64
	}
	startCLI := func(login ...string) *cli {
		c := &cli{out: &bytes.Buffer{}, done: make(chan error, 1)}
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
				if !known[s.ID] && s.Tenant != "" && s.BytesIn > 0 { // logged in and BLPOP sent
					c.id = s.ID
					return true
				}
			}
			return false
		})
		return c
	}
	first := startCLI("--user", "alice", "--pass", laptop)
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
	second := startCLI("--user", "alice", "--pass", laptop)
	must("seeing a new session appear", chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"]`, second.id))),
	))

	// A session has its credential's id and a revoke button; revoking the
	// API-issued "ci" credential goes through the control plane and ends
	// that credential's session and no other.
	third := startCLI("--user", "alice", "--pass", ci)
	revokeBtn := chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"] button.revoke`, third.id))
	must("seeing the ci credential's session", chromedp.Do(bctx, chromedp.WaitVisible(revokeBtn)))
	thirdText, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"]`, third.id))))
	must("reading the row", err)
	if !strings.Contains(thirdText, "ci") {
		t.Errorf("row %q does not name the credential ci", thirdText)
	}
	shot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	must("screenshot", err)
	if err := os.WriteFile(filepath.Join(artifactDir(t), "ui-revoke.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	must("revoking the credential", chromedp.Do(bctx,
		chromedp.Click(revokeBtn),
		chromedp.WaitVisible(chromedp.CSS(`p.done`)),
	))
	done, err = chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`p.done`)))
	must("reading the message", err)
	if want := "revoked credential alice/ci"; done != want {
		t.Errorf("page says %q; want %q", done, want)
	}
	select {
	case err := <-third.done:
		if err == nil || !strings.Contains(third.out.String(), "closed") {
			t.Errorf("ci's redis-cli ended with %v, output %q", err, third.out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the revoked credential's redis-cli still runs; output %q", third.out.String())
	}
	select {
	case err := <-second.done:
		t.Errorf("the laptop credential's redis-cli ended too: %v %q", err, second.out.String())
	default:
	}
	// A file tenant's credential is the file's to revoke: its session can
	// be ended here, not its credential.
	bob := startCLI("--user", "bob", "--pass", bobSecret)
	bobRow := chromedp.CSS(fmt.Sprintf(`tr[data-session="%d"]`, bob.id))
	must("seeing the file tenant's session", chromedp.Do(bctx, chromedp.WaitVisible(bobRow)))
	bobText, err := chromedp.Run(bctx, chromedp.Text(bobRow))
	must("reading the row", err)
	if !strings.Contains(bobText, "default") || !strings.Contains(bobText, "End session") || strings.Contains(bobText, "Revoke") {
		t.Errorf("file tenant's row %q: want credential default, an End button and no Revoke button", bobText)
	}

	var creds struct {
		Credentials []CredentialJSON `json:"credentials"`
	}
	if err := json.Unmarshal(call("GET", "/v1/tenants/alice/credentials", ""), &creds); err != nil {
		t.Fatal(err)
	}
	if len(creds.Credentials) != 1 || creds.Credentials[0].ID != "laptop" {
		t.Errorf("credentials after the revocation: %+v, want laptop only", creds.Credentials)
	}
	live := 0
	for _, s := range p.Registry().List() {
		if s.CredentialID == "ci" {
			t.Errorf("session %d of the revoked credential still registered", s.ID)
		}
		if s.CredentialID == "laptop" {
			live++
		}
	}
	if live != 1 {
		t.Errorf("%d sessions of the laptop credential, want 1 (the second redis-cli)", live)
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
