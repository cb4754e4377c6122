// Package model is the runtime's view of who may log in and where their
// sessions go, apart from where that view comes from. Sources (the
// configuration file, the embedded store, Kubernetes Secrets, etcd) each
// produce a Part; Merge combines the parts into one immutable Snapshot,
// validated as a whole; the gateway is built from the snapshot only.
//
// The package is a leaf: it imports nothing of redoubt's, so every
// source can depend on it.
package model

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"
)

// Source names used in listings, logs and metrics.
const (
	SourceFile       = "file"
	SourceStore      = "store"
	SourceEtcd       = "etcd"
	SourceKubernetes = "kubernetes"
)

// Roles a tenant can have.
const (
	RoleFull      = "full"
	RoleReadWrite = "readwrite"
	RoleReadOnly  = "readonly"
	// RoleReadWriteStrict is readwrite without @dangerous and scripts.
	RoleReadWriteStrict = "readwrite-strict"
)

// Upstream.TenantUsers modes: each tenant of the upstream logs in as its
// own upstream ACL user, pinned to its DB, so its scripts stay there too.
const (
	TenantUsersManaged  = "managed"  // redoubt keeps redoubt-<tenant> users (ACL SETUSER)
	TenantUsersProvided = "provided" // the operator made them: Tenant.UpstreamUser
)

// Upstream login modes.
const (
	AuthNone     = "none"
	AuthPassword = "password"
	AuthACL      = "acl"
	AuthAWSIAM   = "aws-iam"
)

// DefaultCredentialID is the ID of a file tenant's single secret
// (secret_env / secret_sha256 beside credentials:).
const DefaultCredentialID = "default"

// DefaultMaxDB is the highest DB index when an upstream sets no max_db.
const DefaultMaxDB = 15

// Tenant is one client identity and where its sessions go.
type Tenant struct {
	Name string
	// Source is the name of the source that defined the tenant (SourceFile...).
	// Merge sets it from the part the tenant came in.
	Source   string
	Upstream string // name of an Upstream in the snapshot
	// DB pins the tenant's sessions to one DB index; nil = not pinned
	// (allowed only on an upstream nobody else uses).
	DB       *int
	Role     string // RoleFull | RoleReadWrite | RoleReadWriteStrict | RoleReadOnly
	Commands string // extra rules in Redis ACL syntax, after the role
	// ShareDB is the explicit opt-in for two tenants on the same upstream
	// and DB: both must set it, or the later one is refused.
	ShareDB bool
	// Credentials are the secrets that log in as this tenant; none means
	// the tenant logs in by client certificate only.
	Credentials []Credential
	// EndSessionsAtExpiry overrides Tokens.EndSessionsAtExpiry for this
	// tenant's sessions; nil = the global setting.
	EndSessionsAtExpiry *bool
	// UpstreamUser and UpstreamPassword are the tenant's own upstream ACL
	// login when its upstream has TenantUsers provided (the password
	// resolved; never logged, never shown by the API, and not a secret
	// a client logs in with). Only the file sets them.
	UpstreamUser     string
	UpstreamPassword string
	// Limits are the tenant's own fair-sharing limits (limits.go); a
	// limit left nil takes Snapshot.TenantDefaults.
	Limits Limits
}

// Credential is one secret of a tenant, kept as the SHA-256 of a
// high-entropy value: never the secret itself.
type Credential struct {
	ID        string
	Digest    [32]byte
	CreatedAt time.Time // zero when unknown (file credentials)
	ExpiresAt time.Time // zero = never expires
}

// Expired reports whether the credential no longer logs in at now.
func (c Credential) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// Matches compares secret with the credential in constant time.
func (c Credential) Matches(secret []byte) bool {
	d := sha256.Sum256(secret)
	return subtle.ConstantTimeCompare(d[:], c.Digest[:]) == 1
}

// Credential returns the tenant's credential with the given ID.
func (t *Tenant) Credential(id string) (Credential, bool) {
	for _, c := range t.Credentials {
		if c.ID == id {
			return c, true
		}
	}
	return Credential{}, false
}

// PinnedDB returns the tenant's DB index, 0 when not pinned.
func (t *Tenant) PinnedDB() int {
	if t.DB == nil {
		return 0
	}
	return *t.DB
}

// Clone returns a deep copy (the snapshot's tenants are never shared
// with a source that may change its own copy).
func (t Tenant) Clone() Tenant {
	if t.DB != nil {
		db := *t.DB
		t.DB = &db
	}
	if t.EndSessionsAtExpiry != nil {
		v := *t.EndSessionsAtExpiry
		t.EndSessionsAtExpiry = &v
	}
	t.Credentials = append([]Credential(nil), t.Credentials...)
	t.Limits = t.Limits.Clone()
	return t
}

// Upstream is one Redis / Valkey / ElastiCache endpoint.
type Upstream struct {
	Name        string
	Address     string
	TLS         UpstreamTLS
	Auth        UpstreamAuth
	MaxDB       int // highest DB index tenants may be pinned to
	DialTimeout time.Duration
	// TenantUsers is "" (tenants log in with Auth), TenantUsersManaged or
	// TenantUsersProvided.
	TenantUsers string
}

// UpstreamTLS configures TLS towards an upstream.
type UpstreamTLS struct {
	Enabled            bool
	CAFile             string
	ServerName         string
	InsecureSkipVerify bool // tests against self-signed caches only
}

// UpstreamAuth says how redoubt logs in upstream on the tenants' behalf.
type UpstreamAuth struct {
	Mode     string // AuthNone | AuthPassword | AuthACL | AuthAWSIAM
	Username string
	Password string // resolved; never logged
	// aws-iam only
	CacheName        string
	Region           string
	Serverless       bool
	TokenLifetime    time.Duration
	ReauthInterval   time.Duration
	MaxConnectionAge time.Duration
}

// Tokens are the settings for signed and legacy tokens.
type Tokens struct {
	Keys             []TokenKey // the first signs, all verify
	LegacySecret     string     // "" = legacy tokens refused
	AllowUpstreams   []string   // patterns for routes carried by tokens
	UpstreamDefaults Upstream   // TLS, login and dial timeout of token routes
	DefaultTTL       time.Duration
	// EndSessionsAtExpiry ends a session when the credential or signed
	// token it logged in with expires (default true).
	EndSessionsAtExpiry bool
}

// TokenKey is one HMAC key.
type TokenKey struct {
	ID     string
	Secret []byte
}
