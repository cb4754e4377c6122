package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// TestAuditFile: with log.audit_file, logins, refusals and session ends
// land there as JSON lines in the audit schema; refused commands by name
// only, and no secret or argument anywhere in the file.
func TestAuditFile(t *testing.T) {
	t.Setenv("ALICE_SECRET", aliceSecret)
	up := redistest.Start(t)
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	cfg := fmt.Sprintf(`
listen: [{address: %s}]
upstreams: {main: {address: %s}}
tenants: [{name: alice, secret_env: ALICE_SECRET, upstream: main, db: 2, role: readwrite}]
log: {audit_file: %s}
`, addr, up.Addr, path)
	startGateway(t, cfg, addr)

	const argSecret = "argument-that-must-not-be-logged"
	c := dialRaw(t, addr)
	c.send("AUTH alice " + aliceSecret + "\r\n")
	c.expect("+OK\r\n")
	c.send("GET k\r\n")
	c.expect("$-1\r\n")
	c.send("CONFIG SET requirepass " + argSecret + "\r\n")
	c.expect("-NOPERM this user has no permissions to run the 'config|set' command\r\n")
	c.send("QUIT\r\n")
	c.expect("+OK\r\n")
	bad := dialRaw(t, addr)
	bad.send("AUTH alice not-" + aliceSecret + "\r\n")
	bad.expect("-WRONGPASS invalid username-password pair or user is disabled.\r\n")

	var events []audit.Event
	var raw string
	waitFor(t, 5*time.Second, "the session_end event", func() bool {
		b, _ := os.ReadFile(path)
		raw = string(b)
		events = events[:0]
		sc := bufio.NewScanner(strings.NewReader(raw))
		for sc.Scan() {
			var e audit.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("audit line %q: %v", sc.Text(), err)
			}
			events = append(events, e)
		}
		for _, e := range events {
			if e.Event == "session_end" {
				return true
			}
		}
		return false
	})
	byEvent := map[string]audit.Event{}
	for _, e := range events {
		if e.Time.IsZero() || e.Code == "" || e.SessionID == 0 || !strings.HasPrefix(e.Source, "127.0.0.1:") {
			t.Errorf("event without time, code, session or source: %+v", e)
		}
		byEvent[e.Event] = e
	}
	// A file tenant's secret_env is its credential "default".
	if e := byEvent["auth_ok"]; e.Tenant != "alice" || !e.Success || e.Method != "secret" || e.Code != "AUTH_OK" || e.CredentialID != "default" {
		t.Errorf("auth_ok: %+v", e)
	}
	if e := byEvent["command_denied"]; e.Tenant != "alice" || e.Command != "config|set" || e.Reason != "role" || e.Upstream != "main" || e.Success {
		t.Errorf("command_denied: %+v", e)
	}
	if e := byEvent["auth_fail"]; e.Success || e.Reason == "" || e.Code != "AUTH_FAILED" {
		t.Errorf("auth_fail: %+v", e)
	}
	if e := byEvent["session_end"]; e.Tenant != "alice" || e.Method != "secret" || e.CredentialID != "default" || e.BytesIn == 0 || e.BytesOut == 0 || e.Duration <= 0 {
		t.Errorf("session_end: %+v", e)
	}
	for _, s := range []string{aliceSecret, argSecret, "requirepass"} {
		if strings.Contains(raw, s) {
			t.Errorf("the audit file contains %q:\n%s", s, raw)
		}
	}
}
