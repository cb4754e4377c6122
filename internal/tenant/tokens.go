package tenant

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/token"
)

// tokenVerifier authenticates signed tokens (which name a tenant or carry
// an ad-hoc route) and legacy tokens (which carry a route).
type tokenVerifier struct {
	keyring      *token.Keyring // nil: signed tokens not accepted
	legacySecret string         // "": legacy tokens not accepted
	allow        *token.AllowList
	revoked      map[string]bool
	keyFP        map[string][32]byte // key id -> SHA-256 of its secret
	legacyFP     [32]byte
	tenants      map[string]*Tenant
	defaults     model.Upstream
	creds        CredsFunc
	now          func() time.Time
	// endAtExpiry: sessions of signed tokens end at the token's expiry
	// (tokens.end_sessions_at_expiry; a tenant's override wins for tokens
	// that name it).
	endAtExpiry bool
	limits      limit.Limits // limits.tenant_defaults for inspected ad-hoc routes (limits.go)

	// Ad-hoc routes are built once per (address, db, role) and shared, so
	// the TLS configuration and credentials are not rebuilt per login.
	mu     sync.Mutex
	routes map[string]*Route
}

func newTokenVerifier(snap *model.Snapshot, tenants []*Tenant, creds CredsFunc, now func() time.Time) (*tokenVerifier, error) {
	if now == nil {
		now = time.Now
	}
	tk := &snap.Tokens
	v := &tokenVerifier{
		legacySecret: tk.LegacySecret,
		revoked:      snap.Revoked,
		keyFP:        make(map[string][32]byte),
		legacyFP:     sha256.Sum256([]byte(tk.LegacySecret)),
		tenants:      make(map[string]*Tenant),
		defaults:     tk.UpstreamDefaults,
		endAtExpiry:  tk.EndSessionsAtExpiry,
		creds:        creds,
		now:          now,
		routes:       make(map[string]*Route),
		limits:       adHocLimits(snap.TenantDefaults),
	}
	if v.revoked == nil {
		v.revoked = map[string]bool{}
	}
	if len(tk.Keys) > 0 {
		keys := make([]token.Key, 0, len(tk.Keys))
		for _, k := range tk.Keys {
			keys = append(keys, token.Key{ID: k.ID, Secret: k.Secret})
			v.keyFP[k.ID] = sha256.Sum256(k.Secret)
		}
		kr, err := token.NewKeyring(keys)
		if err != nil {
			return nil, fmt.Errorf("tokens.keys: %w", err)
		}
		v.keyring = kr
	}
	allow, err := token.ParseAllowList(tk.AllowUpstreams)
	if err != nil {
		return nil, fmt.Errorf("tokens.allow_upstreams: %w", err)
	}
	v.allow = allow
	for _, t := range tenants {
		v.tenants[t.Name] = t
	}
	return v, nil
}

// Keyring builds the key ring of tokens.keys: the first key signs, all
// verify. The gateway and the token CLI commands share it.
func Keyring(keys []config.TokenKey) (*token.Keyring, error) {
	tk := make([]token.Key, 0, len(keys))
	for _, k := range keys {
		tk = append(tk, token.Key{ID: k.ID, Secret: k.Secret})
	}
	kr, err := token.NewKeyring(tk)
	if err != nil {
		return nil, fmt.Errorf("tokens.keys: %w", err)
	}
	return kr, nil
}

// Verify implements TokenVerifier.
func (v *tokenVerifier) Verify(cred []byte) (*Identity, bool, error) {
	s := string(cred)
	if token.LooksSigned(s) {
		return v.verifySigned(s)
	}
	if v.legacySecret != "" && looksLegacy(s) {
		return v.verifyLegacy(s)
	}
	return nil, false, nil
}

func (v *tokenVerifier) verifySigned(s string) (*Identity, bool, error) {
	if v.keyring == nil {
		return nil, true, reject("signed token, but no tokens.keys configured")
	}
	c, err := v.keyring.Verify(s, v.now())
	if err != nil {
		return nil, true, reject(err.Error()) // token errors never contain the token
	}
	if v.revoked[c.ID] {
		return nil, true, reject("token " + c.ID + " revoked")
	}
	id := &Identity{Method: "token", TokenID: c.ID, KeyID: c.KeyID, SecretFP: v.keyFP[c.KeyID]}
	if v.endAtExpiry {
		id.EndAt = c.Expiry
	}
	if c.Tenant != "" {
		t, ok := v.tenants[c.Tenant]
		if !ok {
			return nil, true, reject("token names unknown tenant " + c.Tenant)
		}
		id.Tenant, id.Route = t.Name, t.Route
		if t.endAtExpiry {
			id.EndAt = c.Expiry
		} else {
			id.EndAt = time.Time{}
		}
		return id, true, nil
	}
	if !v.allow.Allows(c.Upstream) {
		return nil, true, reject("token route " + c.Upstream + " not in tokens.allow_upstreams")
	}
	db := -1
	if c.DB != nil {
		db = *c.DB
	}
	r, err := v.route(c.Upstream, db, c.Role)
	if err != nil {
		return nil, true, reject(err.Error())
	}
	id.Tenant, id.Route, id.AdHoc = "token-"+c.ID, r, true
	return id, true, nil
}

func (v *tokenVerifier) verifyLegacy(s string) (*Identity, bool, error) {
	up, err := token.VerifyLegacy(s, v.legacySecret)
	if err != nil {
		return nil, true, reject(err.Error())
	}
	if !v.allow.Allows(up) {
		return nil, true, reject("legacy token route " + up + " not in tokens.allow_upstreams")
	}
	r, err := v.route(up, -1, model.RoleFull)
	if err != nil {
		return nil, true, reject(err.Error())
	}
	return &Identity{Tenant: "legacy-" + up, Route: r, Method: "legacy", SecretFP: v.legacyFP, AdHoc: true}, true, nil
}

// looksLegacy is a cheap test for base64("HOST:PORT HASH").
func looksLegacy(s string) bool {
	if len(s) < 90 || len(s) > token.MaxTokenLen || len(s)%4 != 0 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && strings.Count(string(b), " ") == 1
}

// route returns the shared route for an ad-hoc destination. Without a db
// the tenant owns that instance (pass-through); with a db it is inspected
// and pinned like a tenant on a shared upstream.
func (v *tokenVerifier) route(addr string, db int, role string) (*Route, error) {
	if role == "" {
		role = model.RoleFull
		if db >= 0 {
			role = model.RoleReadWrite
		}
	}
	key := fmt.Sprintf("%s|%d|%s", addr, db, role)
	v.mu.Lock()
	defer v.mu.Unlock()
	if r, ok := v.routes[key]; ok {
		return r, nil
	}
	d := v.defaults
	if err := checkAdHocLogin(d); err != nil {
		return nil, err
	}
	t, err := buildTarget("token:"+addr, addr, d.TLS, d.Auth, d.DialTimeout, v.creds)
	if err != nil {
		return nil, err
	}
	pol, err := policy.Compile(role, "")
	if err != nil {
		return nil, err
	}
	r := &Route{Target: t, Role: role, Policy: pol}
	if db >= 0 {
		r.DB, r.Shared = db, true
	} else {
		r.PassThrough = role == model.RoleFull
	}
	if !r.PassThrough {
		r.Limits = v.limits
	}
	iamTimers(r, d.Auth)
	v.routes[key] = r
	return r, nil
}

// checkAdHocLogin refuses to send the shared tokens.upstream_defaults
// password where the token, not the operator, chose the address, unless
// TLS verifies who answers there. The configuration check refuses such a
// file already; this holds for configurations built in code too.
func checkAdHocLogin(d model.Upstream) error {
	if d.Auth.Mode != model.AuthPassword && d.Auth.Mode != model.AuthACL {
		return nil
	}
	if !d.TLS.Enabled || d.TLS.InsecureSkipVerify {
		return errors.New("token routes do not log in with the shared password without verified TLS")
	}
	return nil
}

// Revoked implements TokenVerifier: a token id on the revoked list, a
// signing key removed or given a new secret, a changed or unset legacy
// secret, or an ad-hoc route that allow_upstreams no longer allows ends
// the session.
func (v *tokenVerifier) Revoked(id *Identity) bool {
	switch id.Method {
	case "token":
		fp, ok := v.keyFP[id.KeyID]
		if v.keyring == nil || v.revoked[id.TokenID] || !ok || fp != id.SecretFP {
			return true
		}
	case "legacy":
		if v.legacySecret == "" || v.legacyFP != id.SecretFP {
			return true
		}
	}
	return id.AdHoc && !v.allow.Allows(id.Route.Target.Address)
}
