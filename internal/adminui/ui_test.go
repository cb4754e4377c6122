package adminui

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeProxy struct {
	mu      sync.Mutex
	live    map[uint64]Session
	revoked []string
	acted   []string
}

func newTestUI(t *testing.T) (*httptest.Server, *fakeProxy) {
	f := &fakeProxy{live: map[uint64]Session{
		7: {ID: 7, Tenant: "alice", Upstream: "main", Mode: "inspected", Client: "127.0.0.1:5000", Method: "token", CredentialID: "tok-1", Start: time.Now().Add(-90 * time.Second), BytesIn: 2048, BytesOut: 10},
	}}
	h := New(Deps{
		Authenticate: func(tok string) (string, bool) { return "ops", tok == "right-token" },
		Sessions: func() []Session {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out []Session
			for _, s := range f.live {
				out = append(out, s)
			}
			return out
		},
		EndSession: func(id uint64) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			_, ok := f.live[id]
			delete(f.live, id)
			return ok
		},
		RevokeCredential: func(_ context.Context, tenant, id string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.revoked = append(f.revoked, tenant+"/"+id)
			return nil
		},
		Acted: func(subject, action, target string, err error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.acted = append(f.acted, subject+" "+action+" "+target)
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, f
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func body(t *testing.T, r *http.Response) string {
	defer r.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

var csrfField = `name="csrf" value="`

func csrfOf(t *testing.T, page string) string {
	i := strings.Index(page, csrfField)
	if i < 0 {
		t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	rest := page[i+len(csrfField):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestLoginCookieAndCSRF(t *testing.T) {
	srv, f := newTestUI(t)
	c := client(t)
	// Not logged in: to the login form, and the table refuses.
	r, _ := c.Get(srv.URL + "/ui/")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
		t.Fatalf("GET /ui/ without login: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r, _ := c.Get(srv.URL + "/ui/sessions"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /ui/sessions without login: %d", r.StatusCode)
	}
	// A wrong token: 401, no cookie.
	r, _ = c.PostForm(srv.URL+"/ui/login", url.Values{"token": {"wrong"}})
	if r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 || !strings.Contains(body(t, r), "not valid") {
		t.Fatalf("wrong token: %d cookies %v", r.StatusCode, r.Cookies())
	}
	// A login posted from another site's page is refused.
	req, _ := http.NewRequest("POST", srv.URL+"/ui/login", strings.NewReader("token=right-token"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if r, _ := c.Do(req); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin login: %d, want 403", r.StatusCode)
	}
	// The right token: an HttpOnly, SameSite=Strict cookie.
	r, _ = c.PostForm(srv.URL+"/ui/login", url.Values{"token": {"right-token"}})
	if r.StatusCode != http.StatusSeeOther || len(r.Cookies()) != 1 {
		t.Fatalf("login: %d cookies %v", r.StatusCode, r.Cookies())
	}
	ck := r.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui/" || len(ck.Value) < 40 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path /ui/, a long random value", ck)
	}
	r, _ = c.Get(srv.URL + "/ui/")
	page := body(t, r)
	if r.StatusCode != 200 || !strings.Contains(page, `data-session="7"`) || !strings.Contains(page, "1m30s") || !strings.Contains(page, "2.0 KiB") {
		t.Fatalf("page %d:\n%s", r.StatusCode, page)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	tok := csrfOf(t, page)

	for _, tc := range []struct {
		desc, csrf, origin string
		want               int
	}{
		{"no CSRF token", "", "", http.StatusForbidden},
		{"wrong CSRF token", tok + "x", "", http.StatusForbidden},
		{"right token, other origin", tok, "https://evil.example", http.StatusForbidden},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/ui/sessions/7/end", strings.NewReader(url.Values{"csrf": {tc.csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			r, _ := c.Do(req)
			if r.StatusCode != tc.want {
				t.Errorf("%d, want %d", r.StatusCode, tc.want)
			}
		})
	}
	if len(f.live) != 1 {
		t.Fatal("a refused POST ended the session")
	}
	r, _ = c.PostForm(srv.URL+"/ui/credentials/revoke", url.Values{"csrf": {tok}, "tenant": {"alice"}, "id": {"tok-1"}})
	if r.StatusCode != http.StatusSeeOther || len(f.revoked) != 1 || f.revoked[0] != "alice/tok-1" {
		t.Errorf("revoke: %d %v", r.StatusCode, f.revoked)
	}
	r, _ = c.PostForm(srv.URL+"/ui/sessions/7/end", url.Values{"csrf": {tok}})
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "ended+session+7") || len(f.live) != 0 {
		t.Errorf("end: %d %s, live %v", r.StatusCode, r.Header.Get("Location"), f.live)
	}
	if strings.Join(f.acted, ";") != "ops revoke_credential alice/tok-1;ops end_session 7" {
		t.Errorf("actions heard: %q", f.acted)
	}
	// Logging out ends the login: the old cookie no longer works.
	r, _ = c.PostForm(srv.URL+"/ui/logout", url.Values{"csrf": {tok}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/login" {
		t.Errorf("logout: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	req, _ = http.NewRequest("GET", srv.URL+"/ui/sessions", nil)
	req.AddCookie(ck)
	if r, _ := http.DefaultClient.Do(req); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("old cookie after logout: %d, want 401", r.StatusCode)
	}
}

func TestFailedLoginsThrottled(t *testing.T) {
	srv, _ := newTestUI(t)
	c := client(t)
	for i := 0; i < failBurst; i++ {
		if r, _ := c.PostForm(srv.URL+"/ui/login", url.Values{"token": {"guess"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, r.StatusCode)
		}
	}
	if r, _ := c.PostForm(srv.URL+"/ui/login", url.Values{"token": {"right-token"}}); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures: %d, want 429", failBurst, r.StatusCode)
	}
}
