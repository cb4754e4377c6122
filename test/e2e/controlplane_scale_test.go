package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Revoking one credential while 1,000 sessions of other credentials (of
// the same tenant and of another) are live ends its session only: the
// 1,000 still answer.
func TestRevokeAmongThousandSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 sessions")
	}
	up := redistest.Start(t, "--maxclients", "4000")
	g := startCPGateway(t, up.Addr, "", "")
	g.must(t, 201, "PUT", "/v1/tenants/many", map[string]any{"upstream": "main", "db": 5})
	g.must(t, 201, "PUT", "/v1/tenants/other", map[string]any{"upstream": "main", "db": 6})
	victimSecret := g.issue(t, "many", "victim", "")
	secrets := map[string]string{"many": g.issue(t, "many", "keep", ""), "other": g.issue(t, "other", "keep", "")}

	victim := loggedIn(t, g.addr, "many", victimSecret)
	live := make([]*rawConn, 0, 1000)
	for i := range 1000 {
		name := "many"
		if i%2 == 1 {
			name = "other"
		}
		live = append(live, loggedIn(t, g.addr, name, secrets[name]))
	}
	metrics := g.must(t, 200, "GET", "/metrics", nil)["_raw"].(string)
	for _, want := range []string{`redoubt_credential_sessions{credential="keep",tenant="many"} 500`,
		`redoubt_credential_sessions{credential="keep",tenant="other"} 500`,
		`redoubt_credential_sessions{credential="victim",tenant="many"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	g.must(t, 204, "DELETE", "/v1/tenants/many/credentials/victim", nil)
	if !closedWithin(victim, time.Second) {
		t.Fatal("the revoked credential's session survived")
	}
	for _, c := range live {
		c.send(respCmd("PING"))
	}
	for i, c := range live {
		if l := c.line(); l != "+PONG\r\n" {
			t.Fatalf("session %d after the revocation: %q", i, l)
		}
	}
}
