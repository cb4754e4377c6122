package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Several credentials per file tenant and expiry: a signed token's session
// ends at the token's expiry (tokens.end_sessions_at_expiry, default on)
// unless the tenant opts out; an expired file credential is refused;
// rotating by removing the old credential from the file ends only the
// sessions that used it.
func TestExpiryAndFileCredentials(t *testing.T) {
	t.Setenv("K1_KEY", strings.Repeat("k1-hmac-key-", 4))
	t.Setenv("A_OLD", "alice-old-0123456789")
	t.Setenv("A_NEW", "alice-new-0123456789")
	t.Setenv("B_SECRET", "bob-secret-0123456789")
	up := redistest.Start(t)
	addr := freeAddr(t)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cfg := func(aliceCreds string) string {
		return fmt.Sprintf(`
listen: [{address: %s}]
upstreams: {main: {address: %s}}
tokens: {keys: [{id: k1, secret_env: K1_KEY}]}
tenants:
  - name: alice
    upstream: main
    db: 3
    credentials: [%s, {id: gone, secret_sha256: "%s", expires_at: "%s"}]
  - {name: bob, secret_env: B_SECRET, upstream: main, db: 4, end_sessions_at_expiry: false}
`, addr, up.Addr, aliceCreds, sha256hex("expired-0123456789"), past)
	}
	both := "{id: old, secret_env: A_OLD}, {id: new, secret_env: A_NEW}"
	g := startGateway(t, cfg(both), addr)

	aliceTok := issueToken(t, g.ConfigPath, "--tenant", "alice", "--ttl", "2s")
	bobTok := issueToken(t, g.ConfigPath, "--tenant", "bob", "--ttl", "1s")
	ta := authRaw(t, addr, "", aliceTok.tok)
	ta.expect("+OK\r\n")
	tb := authRaw(t, addr, "", bobTok.tok)
	tb.expect("+OK\r\n")
	old := loggedIn(t, addr, "alice", "alice-old-0123456789")
	cur := loggedIn(t, addr, "alice", "alice-new-0123456789")
	if !closedWithin(ta, 4*time.Second) {
		t.Fatal("a signed token's session outlived the token")
	}
	if time.Now().Before(aliceTok.exp.Add(-time.Second)) {
		t.Fatal("the token's session ended before its expiry")
	}
	tb.send(respCmd("PING"))
	tb.expect("+PONG\r\n") // bob opted out: expiry is checked at login only

	gone := dialRaw(t, addr)
	gone.send(respCmd("AUTH", "alice", "expired-0123456789"))
	if l := gone.line(); !strings.HasPrefix(l, "-") {
		t.Fatalf("an expired credential logged in: %q", l)
	}
	if !strings.Contains(g.Log.String(), "credential gone of tenant alice expired") {
		t.Error("the log does not say why the login failed")
	}

	if n := reload(t, g, cfg("{id: new, secret_env: A_NEW}")); n != 1 {
		t.Fatalf("removing credential old ended %d sessions, want 1", n)
	}
	if !closedWithin(old, time.Second) {
		t.Fatal("the removed credential's session survived")
	}
	cur.send(respCmd("PING"))
	cur.expect("+PONG\r\n")
}
