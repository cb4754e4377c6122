package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Red team: with an admin token configured, the deprecated /sessions
// routes must not be a way around it. Without a token, anyone reaching
// the admin port could list every tenant's sessions and end any of them.
func TestRedteamLegacySessionsNeedTheAdminToken(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	c := dialRaw(t, g.addr)
	c.send("AUTH filer file-secret-0123456789\r\n")
	c.expect("+OK\r\n")

	var id uint64
	waitFor(t, 2*time.Second, "the session listed", func() bool {
		var list []struct {
			ID     uint64 `json:"id"`
			Tenant string `json:"tenant"`
		}
		_, out := g.api(t, "GET", "/v1/sessions", cpAdminToken, nil)
		_ = json.Unmarshal([]byte(out["_raw"].(string)), &list)
		for _, s := range list {
			if s.Tenant == "filer" {
				id = s.ID
			}
		}
		return id != 0
	})
	for _, tok := range []string{"", "wrong-token"} {
		if code, out := g.api(t, "GET", "/sessions", tok, nil); code != 401 || strings.Contains(out["_raw"].(string), "filer") {
			t.Errorf("GET /sessions with token %q: %d %s", tok, code, out["_raw"])
		}
		if code, _ := g.api(t, "DELETE", fmt.Sprintf("/sessions/%d", id), tok, nil); code != 401 {
			t.Errorf("DELETE /sessions/%d with token %q: %d, want 401", id, tok, code)
		}
	}
	c.send("PING\r\n")
	c.expect("+PONG\r\n") // still alive
	if code, out := g.api(t, "GET", "/sessions", cpAdminToken, nil); code != 200 || !strings.Contains(out["_raw"].(string), "filer") {
		t.Errorf("GET /sessions with the token: %d %s", code, out["_raw"])
	}
	if code, _ := g.api(t, "DELETE", fmt.Sprintf("/sessions/%d", id), cpAdminToken, nil); code != 204 {
		t.Errorf("DELETE /sessions/%d with the token: %d", id, code)
	}
	c.expectClosed()
	if !strings.Contains(g.Log.String(), "session closed by admin") || !strings.Contains(g.Log.String(), "subject=token:") {
		t.Errorf("no audit line naming the caller:\n%s", g.Log.String())
	}
}

// Red team: the admin port answers /healthz to anyone, and it shares the
// process's descriptors with the proxy. Keep-alive connections left idle
// after one request must not pile up without bound: beyond the cap they
// wait in the backlog, and are served once a slot frees.
func TestRedteamAdminConnectionsAreBounded(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	const n = 100 // more than the admin endpoint's cap (64)
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.DialTimeout("tcp", g.admin, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	served := func(cs []net.Conn, wait time.Duration) (ok []int) {
		deadline := time.Now().Add(wait)
		for i, c := range cs {
			_ = c.SetReadDeadline(deadline)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil && resp.StatusCode == 200 {
				ok = append(ok, i)
			}
		}
		return ok
	}
	ok := served(conns, 2*time.Second)
	if len(ok) == 0 || len(ok) > 64 {
		t.Fatalf("%d of %d idle keep-alive connections held open by the admin endpoint, want 1..64", len(ok), n)
	}
	// Free the slots: the waiting connections are served, not dropped.
	held := map[int]bool{}
	for _, i := range ok {
		held[i] = true
		conns[i].Close()
	}
	var rest []net.Conn
	for i, c := range conns {
		if !held[i] {
			rest = append(rest, c)
		}
	}
	if got := served(rest, 10*time.Second); len(got) != len(rest) {
		t.Errorf("after the slots freed, %d of %d waiting connections were served", len(got), len(rest))
	}
}

// Red team: a page of another origin cannot add a bearer token, but a
// browser attaches a client certificate by itself and sends a form POST
// without preflight. Requests that change something and come from
// another origin are refused before any handler; same-origin ones (and
// the CLI, which sends no Origin) pass. A body with a second JSON value
// after the object is refused rather than half read.
func TestRedteamAdminRefusesCrossOriginChanges(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	g.must(t, 201, "PUT", "/v1/tenants/app", map[string]any{"upstream": "main", "db": 3})
	post := func(hdr map[string]string, body string) int {
		req, _ := http.NewRequest("POST", "http://"+g.admin+"/v1/tenants/app/credentials", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cpAdminToken)
		req.Header.Set("Content-Type", "text/plain")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, hdr := range []map[string]string{
		{"Origin": "http://attacker.example"},
		{"Origin": "null"},
		{"Origin": "http://127.0.0.1:1"},
		{"Sec-Fetch-Site": "cross-site"},
	} {
		if code := post(hdr, `{"ttl":"1h"}`); code != 403 {
			t.Errorf("POST with %v: %d, want 403", hdr, code)
		}
	}
	_, out := g.api(t, "GET", "/v1/tenants/app/credentials", cpAdminToken, nil)
	if strings.Contains(out["_raw"].(string), `"id"`) {
		t.Fatalf("a cross-origin request issued a credential: %s", out["_raw"])
	}
	if code := post(map[string]string{"Origin": "http://" + g.admin, "Sec-Fetch-Site": "same-origin"}, `{"ttl":"1h"}`); code != 201 {
		t.Errorf("same-origin POST: %d, want 201", code)
	}
	if code := post(nil, `{"ttl":"1h"} {"ttl":"2h"}`); code != 400 {
		t.Errorf("POST with two JSON values: %d, want 400", code)
	}
}

// Red team: names are path segments of the admin API. A credential (or
// tenant) named ".." made `redoubt credential revoke app ..` send DELETE
// /v1/tenants/app/credentials/.., which the router redirected to
// /v1/tenants/app; the client followed with DELETE and the token, and the
// whole tenant was deleted. "." and ".." are no names, unclean paths are
// refused rather than redirected, and `check` refuses the names the
// running snapshot would leave out.
func TestRedteamPathTricksCannotRetarget(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	g.must(t, 201, "PUT", "/v1/tenants/app", map[string]any{"upstream": "main", "db": 3})
	g.issue(t, "app", "laptop", "")
	for _, id := range []string{"..", "."} {
		g.must(t, 400, "POST", "/v1/tenants/app/credentials", map[string]string{"id": id})
	}
	for _, name := range []string{"..", "."} {
		if code, _ := g.api(t, "PUT", "/v1/tenants/%2e"+strings.Repeat("%2e", len(name)-1), cpAdminToken, map[string]any{"upstream": "main", "db": 4}); code == 201 || code == 200 {
			t.Errorf("tenant %q created", name)
		}
	}

	t.Setenv("REDOUBT_ADMIN_TOKEN", cpAdminToken)
	if code, _, _ := runCLI(t, "credential", "revoke", "app", "..", "--admin", "http://"+g.admin); code == 0 {
		t.Errorf("credential revoke app .. succeeded")
	}
	// A client that follows redirects (Go's default) is not sent elsewhere either.
	for _, p := range []string{"/v1/tenants/app/credentials/..", "/v1/tenants/app/credentials/%2e%2e", "/v1/tenants/app/credentials/laptop/..", "/v1//tenants/app"} {
		req, _ := http.NewRequest("DELETE", "http://"+g.admin+p, nil)
		req.Header.Set("Authorization", "Bearer "+cpAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("DELETE %s: %d, want 400", p, resp.StatusCode)
		}
	}
	_, out := g.api(t, "GET", "/v1/tenants/app/credentials", cpAdminToken, nil)
	if !strings.Contains(out["_raw"].(string), `"laptop"`) {
		t.Fatalf("tenant app or its credential is gone: %s", out["_raw"])
	}

	// check and serve agree on names: ".." and a 129-character name are refused by check.
	for _, name := range []string{"..", strings.Repeat("n", 129)} {
		path := g.ConfigPath + ".check.yaml"
		cfg := strings.Replace(g.cfg, "name: filer", "name: "+name, 1)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := runCLI(t, "check", "--config", path); code == 0 {
			t.Errorf("check accepts a tenant named %.12q... that serve leaves out", name)
		}
	}
}

// Red team: guessing the admin token left no trace (a 401 wrote
// nothing). A refused credential is now an audit line, without the guess.
func TestRedteamRefusedAdminTokenIsLogged(t *testing.T) {
	up := redistest.Start(t)
	g := startCPGateway(t, up.Addr, "", "")
	const guess = "guessed-token-Q7x9Q7x9Q7x9"
	if code, _ := g.api(t, "GET", "/v1/tenants", guess, nil); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	log := g.Log.String()
	if !strings.Contains(log, `msg="admin authentication failed" audit=true`) || !strings.Contains(log, "path=/v1/tenants") {
		t.Errorf("no audit line for a refused token:\n%s", log)
	}
	if strings.Contains(log, "Q7x9") {
		t.Errorf("the log repeats the guessed token")
	}
}
