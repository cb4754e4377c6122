package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// TestTenantUserStore: tenants made through the admin API (the store) on
// a tenant_users: managed upstream get managed users as file tenants do,
// kept in step with the merged view: made before the API call returns,
// deleted with the tenant, and the file tenant's user kept throughout. A
// tenant of a provided upstream cannot come from the API (it has no way to
// carry an upstream password), and the API never shows one.
func TestTenantUserStore(t *testing.T) {
	t.Setenv("CP_ADMIN_TOKEN", cpAdminToken)
	t.Setenv("TU_ADMIN_PASSWORD", tuAdminPass)
	t.Setenv("ALICE_TU_SECRET", tuSecrets["alice"])
	t.Setenv("BOB_TU_SECRET", tuSecrets["bob"])
	t.Setenv("BOB_UPSTREAM_PASSWORD", tuBobPass)
	managed := redistest.Start(t, "--requirepass", tuAdminPass)
	provided := redistest.Start(t, "--requirepass", tuAdminPass)
	g := &cpGateway{addr: freeAddr(t), admin: freeAddr(t), storePath: filepath.Join(t.TempDir(), "redoubt.db")}
	g.cfg = fmt.Sprintf(`
listen: [{address: %s}]
admin: {address: %s, token_env: CP_ADMIN_TOKEN}
store: {path: %s}
upstreams:
  managed: {address: %s, auth: {mode: password, password_env: TU_ADMIN_PASSWORD}, tenant_users: managed}
  provided: {address: %s, auth: {mode: password, password_env: TU_ADMIN_PASSWORD}, tenant_users: provided}
tenants:
  - {name: alice, secret_env: ALICE_TU_SECRET, upstream: managed, db: 3, role: readwrite}
  - {name: bob, secret_env: BOB_TU_SECRET, upstream: provided, db: 3, upstream_user: app-bob, upstream_password_env: BOB_UPSTREAM_PASSWORD}
`, g.addr, g.admin, g.storePath, managed.Addr, provided.Addr)
	g.Gateway = startGateway(t, g.cfg, g.addr, g.admin)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: managed.Addr, Password: tuAdminPass, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { admin.Close() })
	users := func() []string {
		t.Helper()
		u, err := admin.Do(ctx, "ACL", "USERS").StringSlice()
		mustOK(t, err)
		return u
	}

	g.must(t, 201, "PUT", "/v1/tenants/api-app", map[string]any{"upstream": "managed", "db": 5, "role": "readwrite"})
	if u := users(); !slices.Contains(u, "redoubt-api-app") || !slices.Contains(u, "redoubt-alice") {
		t.Fatalf("after PUT returned, ACL USERS is %v", u)
	}
	if r := admin.Do(ctx, "ACL", "DRYRUN", "redoubt-api-app", "SELECT", "3").Val(); r == "OK" {
		t.Error("redoubt-api-app may SELECT alice's DB")
	}
	secret := g.issue(t, "api-app", "ci", "")
	c := redis.NewClient(&redis.Options{Addr: g.addr, Username: "api-app", Password: secret,
		Protocol: 2, DisableIdentity: true, DialTimeout: 5 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	if err := c.Eval(ctx, "return redis.call('set', KEYS[1], 'from-script')", []string{"k"}).Err(); err != nil {
		t.Fatalf("EVAL of a store tenant with a managed user: %v", err)
	}
	db5 := redis.NewClient(&redis.Options{Addr: managed.Addr, Password: tuAdminPass, DB: 5, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { db5.Close() })
	if got := db5.Get(ctx, "k").Val(); got != "from-script" {
		t.Errorf("the script's write is not in DB 5: %q", got)
	}
	if list := admin.ClientList(ctx).Val(); !strings.Contains(list, "user=redoubt-api-app") {
		t.Errorf("no upstream connection logged in as redoubt-api-app:\n%s", list)
	}

	out := g.must(t, 400, "PUT", "/v1/tenants/api-prov", map[string]any{"upstream": "provided", "db": 4})
	if !strings.Contains(out["_raw"].(string), "upstream_user") {
		t.Errorf("PUT on a provided upstream: %v", out["_raw"])
	}
	if raw := g.must(t, 200, "GET", "/v1/tenants", nil)["_raw"].(string); strings.Contains(raw, tuBobPass) || !strings.Contains(raw, `"bob"`) {
		t.Errorf("GET /v1/tenants shows bob's upstream password, or not bob: %s", raw)
	}

	g.must(t, 204, "DELETE", "/v1/tenants/api-app", nil)
	if u := users(); slices.Contains(u, "redoubt-api-app") || !slices.Contains(u, "redoubt-alice") {
		t.Errorf("after DELETE returned, ACL USERS is %v", u)
	}
}
