package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Fair-sharing limits of a store tenant, through the admin API and the
// CLI: a negative or misplaced limit is refused with its key, the limits
// are listed, they apply to the tenant's sessions, and a PUT that only
// lifts a limit applies it to a live session (the incremental rebuild sees
// the change) without ending it.
func TestFairShareLimitsOverAdminAPI(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")

	for _, tc := range []struct {
		desc string
		body map[string]any
		want string
	}{
		{"negative", map[string]any{"upstream": "main", "db": 4, "max_value_bytes": -1}, "max_value_bytes: must not be negative"},
		{"quota without db", map[string]any{"upstream": "main", "max_keys": 5}, "max_keys and max_memory_bytes are quotas of a DB-pinned tenant"},
		{"unknown key", map[string]any{"upstream": "main", "db": 4, "max_value_byte": 5}, "unknown field"},
	} {
		out := g.must(t, 400, "PUT", "/v1/tenants/lim", tc.body)
		if !strings.Contains(out["error"].(string), tc.want) {
			t.Errorf("%s: %v, want %q", tc.desc, out["error"], tc.want)
		}
	}

	put := g.must(t, 201, "PUT", "/v1/tenants/lim", map[string]any{"upstream": "main", "db": 4, "max_value_bytes": 10, "max_keys": 0})
	if put["max_value_bytes"] != float64(10) || put["max_keys"] != float64(0) || put["max_ops_per_second"] != nil {
		t.Fatalf("PUT answer: %v", put)
	}
	var listed map[string]any
	for _, x := range g.must(t, 200, "GET", "/v1/tenants", nil)["tenants"].([]any) {
		if m := x.(map[string]any); m["name"] == "lim" {
			listed = m
		}
	}
	if listed["max_value_bytes"] != float64(10) || listed["max_keys"] != float64(0) {
		t.Fatalf("GET /v1/tenants: %v", listed)
	}

	c := loggedIn(t, g.addr, "lim", g.issue(t, "lim", "a", ""))
	c.send(respCmd("SET", "k", "0123456789abcdef"))
	c.expectPrefix("-ERR redoubt: ")
	c.send(respCmd("SET", "k", "short"))
	c.expect("+OK\r\n")

	// Lift the limit from the CLI: the same session writes the value now.
	t.Setenv("REDOUBT_ADMIN_TOKEN", cpAdminToken)
	if code, out, errOut := runCLI(t, "tenant", "put", "lim", "--upstream", "main", "--db", "4",
		"--max-value-bytes", "0", "--admin", "http://"+g.admin, "--json"); code != 0 || !strings.Contains(out, `"max_value_bytes":0`) {
		t.Fatalf("tenant put: %d %s %s", code, out, errOut)
	}
	c.send(respCmd("SET", "k", "0123456789abcdef"))
	c.expect("+OK\r\n")
	if closedWithin(c, 100*time.Millisecond) {
		t.Fatal("changing only limits ended the session")
	}
	direct := redis.NewClient(&redis.Options{Addr: up.Addr, DB: 4, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { direct.Close() })
	if v, err := direct.Get(context.Background(), "k").Result(); err != nil || v != "0123456789abcdef" {
		t.Fatalf("DB 4 on the server: %q %v", v, err)
	}
}
