// Package tenant turns credentials into identities and identities into
// routes. A Directory is an immutable snapshot built from one configuration;
// reloads build a new one and swap it in.
package tenant

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/token"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// ErrBadCredential is the only thing a client learns about a failed login.
// The precise reason goes to the log through Rejection.
var ErrBadCredential = errors.New("invalid credential")

// Rejection carries the precise reason for a refused login, for the log
// only. It never contains the credential.
type Rejection struct{ Reason string }

func (r *Rejection) Error() string { return "invalid credential: " + r.Reason }

// Is makes errors.Is(err, ErrBadCredential) hold for every rejection.
func (r *Rejection) Is(target error) bool { return target == ErrBadCredential }

func reject(reason string) error { return &Rejection{Reason: reason} }

// Route is where an identity's sessions go and what they may do there.
type Route struct {
	Target *upstream.Target
	DB     int
	// PassThrough: the tenant owns the upstream, bytes are relayed untouched.
	// Otherwise every command is inspected.
	PassThrough bool
	Role        string
	Rules       string
	// Shared: the isolation rules apply (DB pinning, pub/sub prefixes,
	// refused cross-DB commands): the tenant has a db, or other tenants
	// use the same upstream. Isolation never depends on when a session
	// started: a change of it ends the session (sameRoute).
	Shared bool
	// Policy is the compiled role and rules (inspected routes).
	Policy *policy.Policy
	// ReauthEvery is how often inspected sessions log in again in place
	// (AWS IAM's 12-hour ceiling); 0 = never.
	ReauthEvery time.Duration
	// TenantUser: sessions log in upstream as the tenant's own ACL user
	// (upstreams.NAME.tenant_users), whose rules keep scripts in its DB, so
	// the isolation allows scripts (Target.Creds is that user's login).
	TenantUser bool
	// MaxAge closes pass-through sessions, which cannot log in again in
	// place, at a jittered age in [MaxAge-30m, MaxAge]; 0 = never.
	MaxAge time.Duration
	// Limits are the tenant's fair-sharing limits (inspected routes; zero
	// for pass-through routes; ad-hoc token routes get the rate and size
	// defaults).
	Limits limit.Limits
}

// Identity is an authenticated tenant and its route.
type Identity struct {
	Tenant  string
	Route   *Route
	Method  string // "secret", "token", "legacy", "mtls"
	TokenID string // signed tokens only, for revocation
	KeyID   string // signed tokens only: removing the key revokes its tokens
	// AdHoc: the route came from the token itself (an ad-hoc signed token
	// or a legacy token), not from a configured tenant.
	AdHoc bool
	// SecretFP is the SHA-256 of the secret that verified the login (the
	// credential's digest, the signing key or the legacy secret): changing
	// that secret ends the session.
	SecretFP [32]byte
	// CredentialID is the tenant credential the session logged in with
	// (Method "secret"): revoking that credential ends only its sessions.
	CredentialID string
	// EndAt is when the session ends because its credential or signed
	// token expires (zero: never, or tokens.end_sessions_at_expiry off).
	EndAt time.Time
}

// Tenant is one tenant of the snapshot.
type Tenant struct {
	Name   string
	Source string // where it came from: "file", "store", ...
	Route  *Route
	creds  []credential
	// endAtExpiry: sessions end when their credential expires.
	endAtExpiry bool
	sig         tenantSig    // what it was built from (BuildFrom reuses it)
	from        model.Tenant // the settings it was built from
}

type credential struct {
	id      string
	digest  [32]byte
	expires time.Time     // zero = never
	used    *atomic.Int64 // last login (Unix ns), from Usage; nil: not recorded
}

// credRef is one credential in the by-digest index.
type credRef struct {
	t *Tenant
	i int
}

// Directory is an immutable view of every way to log in.
type Directory struct {
	byName   map[string]*Tenant
	byDigest map[[32]byte]credRef
	tokens   TokenVerifier // nil when no tokens are configured
	now      func() time.Time
	usage    *Usage // nil: logins not recorded (BuildFrom hands it on)
	targets  map[string]builtTarget
}

// TokenVerifier authenticates signed and legacy tokens (see token_auth.go).
type TokenVerifier interface {
	// Verify returns ok=false when cred is not a token at all, so the
	// caller can try other credential kinds.
	Verify(cred []byte) (id *Identity, ok bool, err error)
	// Revoked reports whether a live session's identity was revoked, or
	// its ad-hoc route is no longer allowed.
	Revoked(id *Identity) bool
}

// NewDirectory builds a directory from tenants and an optional token verifier.
func NewDirectory(tenants []*Tenant, tokens TokenVerifier) *Directory {
	creds := 0
	for _, t := range tenants {
		creds += len(t.creds)
	}
	d := &Directory{
		byName:   make(map[string]*Tenant, len(tenants)),
		byDigest: make(map[[32]byte]credRef, creds),
		tokens:   tokens,
		now:      time.Now,
	}
	for _, t := range tenants {
		d.byName[t.Name] = t
		for i, c := range t.creds {
			if prev, dup := d.byDigest[c.digest]; dup {
				if prev.t != t {
					// One secret, several tenants: AUTH <secret> cannot
					// tell whose it is, and picking one would land a
					// client in another tenant's DB. Only AUTH <name>
					// <secret> logs in with it.
					d.byDigest[c.digest] = credRef{}
					continue
				}
				if !outlives(c.expires, prev.t.creds[prev.i].expires) {
					continue // an expired twin must not shadow a live one
				}
			}
			d.byDigest[c.digest] = credRef{t, i}
		}
	}
	return d
}

// outlives reports whether expiry a comes after b (zero = never).
func outlives(a, b time.Time) bool {
	return !b.IsZero() && (a.IsZero() || a.After(b))
}

// Lookup returns a tenant by name.
func (d *Directory) Lookup(name string) (*Tenant, bool) {
	t, ok := d.byName[name]
	return t, ok
}

// Len is the number of tenants.
func (d *Directory) Len() int { return len(d.byName) }

// Authenticate checks AUTH's arguments. user is empty for the one-argument
// form, and "default" is treated the same way because clients such as
// go-redis send HELLO 3 AUTH default <password> when given only a password.
func (d *Directory) Authenticate(user, secret []byte) (*Identity, error) {
	if len(user) == 0 || string(user) == "default" {
		return d.authSecretOnly(secret)
	}
	t, ok := d.byName[string(user)]
	digest := sha256.Sum256(secret)
	if !ok || len(t.creds) == 0 {
		// Compare anyway so an unknown name costs the same as a wrong secret.
		var zero [32]byte
		subtle.ConstantTimeCompare(digest[:], zero[:])
		if d.tokens != nil {
			// A token may be given with any username (redis-cli --user x --pass TOKEN).
			if id, isTok, err := d.tokens.Verify(secret); isTok {
				return id, err
			}
		}
		if !ok {
			return nil, reject("unknown tenant")
		}
		return nil, reject("tenant has no secret (mTLS only)")
	}
	// Every credential is compared, so the time taken does not tell which
	// (if any) matched.
	match := -1
	for i := range t.creds {
		// Of two credentials with one secret, the one that expires last.
		if subtle.ConstantTimeCompare(digest[:], t.creds[i].digest[:]) == 1 &&
			(match < 0 || outlives(t.creds[i].expires, t.creds[match].expires)) {
			match = i
		}
	}
	if match < 0 {
		return nil, reject("wrong secret for tenant " + t.Name)
	}
	return d.secretIdentity(t, match)
}

func (d *Directory) authSecretOnly(secret []byte) (*Identity, error) {
	if d.tokens != nil {
		if id, isTok, err := d.tokens.Verify(secret); isTok {
			return id, err
		}
	}
	digest := sha256.Sum256(secret)
	// The map is keyed by a SHA-256 of a high-entropy secret: looking it up
	// leaks nothing about the secret; the final compare is constant-time.
	ref, ok := d.byDigest[digest]
	if ok && ref.t == nil {
		return nil, reject("several tenants have this secret: AUTH must name the tenant")
	}
	if !ok || subtle.ConstantTimeCompare(digest[:], ref.t.creds[ref.i].digest[:]) != 1 {
		return nil, reject(d.unknownCredentialReason(secret))
	}
	return d.secretIdentity(ref.t, ref.i)
}

// secretIdentity is the identity of a login with credential i of t, or a
// rejection when that credential has expired.
func (d *Directory) secretIdentity(t *Tenant, i int) (*Identity, error) {
	c := &t.creds[i]
	now := d.now()
	if !c.expires.IsZero() && !now.Before(c.expires) {
		return nil, reject("credential " + c.id + " of tenant " + t.Name + " expired")
	}
	if c.used != nil {
		c.used.Store(now.UnixNano())
	}
	id := &Identity{Tenant: t.Name, Route: t.Route, Method: "secret", SecretFP: c.digest, CredentialID: c.id}
	if t.endAtExpiry {
		id.EndAt = c.expires
	}
	return id, nil
}

// unknownCredentialReason says, for the log, what a credential that
// matched nothing looked like, so an operator can tell a typo from a token
// sent to a gateway whose token support is off.
func (d *Directory) unknownCredentialReason(secret []byte) string {
	switch {
	case token.LooksSigned(string(secret)) && d.tokens == nil:
		return "signed token, but tokens.keys is not configured"
	case looksLegacy(string(secret)):
		if tv, ok := d.tokens.(*tokenVerifier); !ok || tv.legacySecret == "" {
			return "legacy-format token, but tokens.legacy_secret_env is not set"
		}
	}
	return "no tenant has this secret"
}

// StillValid reports whether a live session's identity survives this
// directory: the tenant still exists with the same route and isolation,
// its credential is still there with the same secret and has not expired,
// and its token, if any, is not revoked or past its expiry.
func (d *Directory) StillValid(id *Identity) bool {
	ok, _ := d.Check(id)
	return ok
}

// Check is StillValid with the reason a session must end ("revoked",
// "expired", "tenant removed", "route changed"), for the log.
func (d *Directory) Check(id *Identity) (bool, string) {
	if !id.EndAt.IsZero() && !d.now().Before(id.EndAt) {
		return false, "expired"
	}
	if id.Method == "token" || id.Method == "legacy" {
		if d.tokens == nil || d.tokens.Revoked(id) {
			return false, "revoked"
		}
		if id.AdHoc {
			return true, "" // no configured tenant behind it to compare with
		}
	}
	t, ok := d.byName[id.Tenant]
	if !ok {
		return false, "tenant removed"
	}
	if id.Method == "secret" {
		c, ok := t.credential(id.CredentialID)
		switch {
		case !ok || c.digest != id.SecretFP:
			return false, "revoked" // the credential was removed or its secret rotated
		case t.endAtExpiry && !c.expires.IsZero() && !d.now().Before(c.expires):
			return false, "expired"
		}
	}
	if !sameRoute(t.Route, id.Route) {
		return false, "route changed"
	}
	return true, ""
}

func (t *Tenant) credential(id string) (*credential, bool) {
	for i := range t.creds {
		if t.creds[i].id == id {
			return &t.creds[i], true
		}
	}
	return nil, false
}

// sameRoute: everything a session's isolation depends on (upstream, DB,
// shared-ness, role, rules, pass-through) is unchanged. A live session
// keeps the isolation it started with, so any change ends it.
func sameRoute(a, b *Route) bool {
	return a.Target.Address == b.Target.Address && a.Target.Name == b.Target.Name &&
		a.DB == b.DB && a.PassThrough == b.PassThrough && a.Shared == b.Shared &&
		a.Role == b.Role && a.Rules == b.Rules && a.TenantUser == b.TenantUser
}
