package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

const cpAdminToken = "admin-token-0123456789abcdef"

// cpGateway is a gateway with a store, an admin API behind a token, and a
// shared upstream "main" named in the file.
type cpGateway struct {
	*Gateway
	addr, admin string
	storePath   string
	cfg         string
}

func startCPGateway(t *testing.T, upstream, storePath, extraTenants string) *cpGateway {
	t.Helper()
	t.Setenv("CP_ADMIN_TOKEN", cpAdminToken)
	t.Setenv("CP_FILE_SECRET", "file-secret-0123456789")
	if storePath == "" {
		storePath = filepath.Join(t.TempDir(), "redoubt.db")
	}
	g := &cpGateway{addr: freeAddr(t), admin: freeAddr(t), storePath: storePath}
	g.cfg = `
listen: [{address: ` + g.addr + `}]
admin: {address: ` + g.admin + `, token_env: CP_ADMIN_TOKEN}
store: {path: ` + storePath + `}
limits: {shutdown_grace: 1s}
upstreams:
  main: {address: ` + upstream + `}
tenants:
  - {name: filer, secret_env: CP_FILE_SECRET, upstream: main, db: 1}
` + extraTenants
	g.Gateway = startGateway(t, g.cfg, g.addr, g.admin)
	return g
}

// api calls the admin API; token "" sends none.
func (g *cpGateway) api(t testing.TB, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+g.admin+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{"_raw": string(raw)}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// must calls the API with the right token and fails unless the status is want.
func (g *cpGateway) must(t testing.TB, want int, method, path string, body any) map[string]any {
	t.Helper()
	code, out := g.api(t, method, path, cpAdminToken, body)
	if code != want {
		t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// issue makes a credential and returns its secret.
func (g *cpGateway) issue(t testing.TB, tenant, id, ttl string) string {
	t.Helper()
	out := g.must(t, 201, "POST", "/v1/tenants/"+tenant+"/credentials", map[string]string{"id": id, "ttl": ttl})
	s, _ := out["secret"].(string)
	if len(s) < 40 {
		t.Fatalf("secret %q", s)
	}
	return s
}

// tenantNames lists the tenants as the API shows them.
func (g *cpGateway) tenantNames(t testing.TB) []string {
	t.Helper()
	out := g.must(t, 200, "GET", "/v1/tenants", nil)
	var names []string
	for _, x := range out["tenants"].([]any) {
		names = append(names, x.(map[string]any)["name"].(string))
	}
	return names
}

// loggedIn opens a raw session logged in with AUTH tenant secret.
func loggedIn(t *testing.T, addr, tenant, secret string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	c.send(respCmd("AUTH", tenant, secret))
	c.expect("+OK\r\n")
	return c
}

// closedWithin reports whether the server ends c within d.
func closedWithin(c *rawConn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				return false
			}
			return true
		}
	}
}
