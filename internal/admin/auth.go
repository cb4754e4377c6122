package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// Authenticator decides who may call the admin API: a bearer token
// (admin.token_env), compared in constant time, and/or a client
// certificate verified by the admin listener's TLS (admin.client_ca_file).
// With neither configured every request is refused. Handlers outside this
// package (the /ui/ page) wrap themselves with Require and read the
// caller from Subject for their audit lines.
type Authenticator struct {
	digest   [32]byte // SHA-256 of the token: compared, never the token
	hasToken bool
	mtls     bool
}

// NewAuthenticator accepts the bearer token (none if "") and, with mtls,
// any client certificate the TLS listener verified.
func NewAuthenticator(token string, mtls bool) *Authenticator {
	a := &Authenticator{mtls: mtls, hasToken: token != ""}
	if a.hasToken {
		a.digest = sha256.Sum256([]byte(token))
	}
	return a
}

// Enabled reports whether any way to authenticate is configured.
func (a *Authenticator) Enabled() bool { return a != nil && (a.hasToken || a.mtls) }

// Check returns who made r ("token:1a2b3c4d", the first bytes of the
// token's SHA-256, or "cert:CN") and whether r is allowed.
func (a *Authenticator) Check(r *http.Request) (subject string, ok bool) {
	if !a.Enabled() {
		return "", false
	}
	if a.mtls && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName, true
	}
	if a.hasToken {
		h := r.Header.Get("Authorization")
		tok, found := strings.CutPrefix(h, "Bearer ")
		d := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(d[:], a.digest[:]) == 1 && found {
			return "token:" + hex.EncodeToString(a.digest[:4]), true
		}
	}
	return "", false
}

type subjectKey struct{}

// Require serves next only to authenticated callers; others get 401 (403
// when the API is not configured at all) as {"error": "..."}.
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Enabled() {
			writeError(w, http.StatusForbidden, "admin API disabled: set admin.token_env or admin.client_ca_file")
			return
		}
		subject, ok := a.Check(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="redoubt"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin credentials")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), subjectKey{}, subject)))
	})
}

// Subject is the authenticated caller of a request that went through
// Require ("" otherwise), for audit lines.
func Subject(r *http.Request) string {
	s, _ := r.Context().Value(subjectKey{}).(string)
	return s
}

// Token checks a bare admin token (the /ui/ page's login form posts it
// once) as Check checks a bearer header: in constant time, against the
// token's digest. mTLS alone does not open the page: it has no token.
func (a *Authenticator) Token(token string) (subject string, ok bool) {
	if a == nil || !a.hasToken {
		return "", false
	}
	d := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(d[:], a.digest[:]) != 1 {
		return "", false
	}
	return "token:" + hex.EncodeToString(a.digest[:4]), true
}
