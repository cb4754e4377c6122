package admin

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAuthenticator(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(Subject(r))) })
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "ops-bot"}}
	for _, tc := range []struct {
		desc        string
		a           *Authenticator
		header      string
		verified    bool
		wantCode    int
		wantSubject string
	}{
		{"nothing configured", NewAuthenticator("", false), "Bearer x", false, 403, ""},
		{"no header", NewAuthenticator("s3cret-token", false), "", false, 401, ""},
		{"wrong token", NewAuthenticator("s3cret-token", false), "Bearer s3cret-tokem", false, 401, ""},
		{"token without Bearer", NewAuthenticator("s3cret-token", false), "s3cret-token", false, 401, ""},
		{"empty bearer", NewAuthenticator("s3cret-token", false), "Bearer ", false, 401, ""},
		{"right token", NewAuthenticator("s3cret-token", false), "Bearer s3cret-token", false, 200, "token:"},
		{"certificate, mTLS off", NewAuthenticator("s3cret-token", false), "", true, 401, ""},
		{"verified certificate", NewAuthenticator("", true), "", true, 200, "cert:ops-bot"},
		{"mTLS on, no certificate", NewAuthenticator("", true), "", false, 401, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/tenants", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.verified {
				r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
			}
			w := httptest.NewRecorder()
			tc.a.Require(ok).ServeHTTP(w, r)
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d (%s)", w.Code, tc.wantCode, w.Body)
			}
			if tc.wantCode == 200 && !strings.HasPrefix(w.Body.String(), tc.wantSubject) {
				t.Fatalf("subject %q, want prefix %q", w.Body, tc.wantSubject)
			}
		})
	}
}

// Token is the /ui/ login's check: the same token and subject as a bearer
// header on /v1/, nothing else.
func TestAuthenticatorToken(t *testing.T) {
	a := NewAuthenticator("s3cret-token", false)
	r := httptest.NewRequest("GET", "/v1/tenants", nil)
	r.Header.Set("Authorization", "Bearer s3cret-token")
	bearer, _ := a.Check(r)
	if sub, ok := a.Token("s3cret-token"); !ok || sub != bearer || !strings.HasPrefix(sub, "token:") {
		t.Errorf("right token: %q %v, want the bearer subject %q", sub, ok, bearer)
	}
	for _, tc := range []struct {
		desc string
		a    *Authenticator
		tok  string
	}{
		{"wrong token", a, "s3cret-tokem"},
		{"empty token", a, ""},
		{"prefix of the token", a, "s3cret"},
		{"no token configured", NewAuthenticator("", true), ""},
		{"nil authenticator", nil, "s3cret-token"},
	} {
		if sub, ok := tc.a.Token(tc.tok); ok || sub != "" {
			t.Errorf("%s: accepted as %q", tc.desc, sub)
		}
	}
}
