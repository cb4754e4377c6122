// Package config holds redoubt's configuration file: its shape (this file),
// loading with unknown keys rejected, defaults applied in one place, and
// validation that reports every problem with its key path.
package config

import "time"

// Config is the whole configuration file. Field tags are a public contract
// (docs/configuration.md): extend, never rename.
type Config struct {
	Listen    []Listener          `yaml:"listen"`
	Admin     Admin               `yaml:"admin"`
	Upstreams map[string]Upstream `yaml:"upstreams"`
	Tenants   []Tenant            `yaml:"tenants"`
	Tokens    Tokens              `yaml:"tokens"`
	Limits    Limits              `yaml:"limits"`
	Log       Log                 `yaml:"log"`
	Store     Store               `yaml:"store"`
	Broker    *Broker             `yaml:"broker"` // Open Service Broker; nil = off
	Sources   Sources             `yaml:"sources"`
}

// Listener is one client-facing socket.
type Listener struct {
	Address string     `yaml:"address"`
	TLS     *ServerTLS `yaml:"tls"`
}

// ServerTLS turns a listener into a TLS listener. With ClientCAFile set,
// client certificates are verified against that CA and name the tenant
// (docs/security.md gives the rules), so no AUTH is needed. ClientAuth says
// whether a certificate is required (the default) or optional, letting
// clients without one log in with AUTH.
type ServerTLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
	ClientAuth   string `yaml:"client_auth"` // require | optional; only with client_ca_file
}

// Client certificate policies of a listener with client_ca_file.
const (
	ClientAuthRequire  = "require"
	ClientAuthOptional = "optional"
)

// Admin is the HTTP endpoint for /metrics, /healthz, /readyz and the admin API.
type Admin struct {
	Address string `yaml:"address"`
	// Pprof serves Go's profiler under /debug/pprof/ (off by default: a
	// goroutine dump shows internals, and a CPU profile costs CPU).
	Pprof bool `yaml:"pprof"`
	// TokenEnv names the variable holding the bearer token of the /v1/
	// admin API. Without it (or ClientCAFile) the API is refused.
	TokenEnv string `yaml:"token_env"`
	// CertFile/KeyFile serve the admin endpoint over TLS; with
	// ClientCAFile, a client certificate signed by that CA is accepted
	// instead of the token (mTLS).
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`

	// UnreadyAfter is how long a credential source, or the upstreams of
	// every tenant, may be unreachable before /readyz says 503 (default 30s).
	UnreadyAfter Duration `yaml:"unready_after"`
	// MetricsTenants bounds the tenant label: the first this many tenants
	// seen get their own series, the rest share tenant="_other" (default 100).
	MetricsTenants int `yaml:"metrics_tenants"`

	// Token is resolved from TokenEnv by Resolve.
	Token string `yaml:"-"`
}

// Store is where tenants and credentials made at run time are kept.
type Store struct {
	// Path of the embedded store file (bbolt); "" = no store, the admin
	// API cannot create tenants or credentials.
	Path string `yaml:"path"`
	// Etcd keeps run-time tenants and credentials in etcd
	// (sources.etcd) instead, shared by every replica.
	Etcd bool `yaml:"etcd"`
}

// Upstream is one Redis / Valkey / ElastiCache endpoint.
type Upstream struct {
	Address string       `yaml:"address"`
	TLS     UpstreamTLS  `yaml:"tls"`
	Auth    UpstreamAuth `yaml:"auth"`
	// MaxDB is the highest DB index tenants may be pinned to (default 15,
	// redis-server's default of 16 databases).
	MaxDB *int `yaml:"max_db"`
	// DialTimeout bounds TCP connect plus TLS handshake plus upstream login.
	DialTimeout Duration `yaml:"dial_timeout"`
	// TenantUsers gives each tenant of this upstream its own upstream ACL
	// user, whose rules keep it in its DB even inside Lua scripts:
	// "managed" (redoubt creates and maintains redoubt-<tenant> users with
	// the auth login above) or "provided" (tenants[].upstream_user and
	// upstream_password_env). Empty: every tenant logs in with auth.
	TenantUsers string `yaml:"tenant_users"`
}

// Values of upstreams.NAME.tenant_users.
const (
	TenantUsersManaged  = "managed"
	TenantUsersProvided = "provided"
)

// UpstreamTLS configures TLS towards the upstream.
type UpstreamTLS struct {
	Enabled    bool   `yaml:"enabled"`
	CAFile     string `yaml:"ca_file"`
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify exists for tests against self-signed caches only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Upstream login modes.
const (
	AuthNone     = "none"
	AuthPassword = "password"
	AuthACL      = "acl"
	AuthAWSIAM   = "aws-iam"
)

// UpstreamAuth says how redoubt logs in upstream on the tenants' behalf.
type UpstreamAuth struct {
	Mode        string `yaml:"mode"` // none | password | acl | aws-iam
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	// aws-iam only
	CacheName  string `yaml:"cache_name"`
	Region     string `yaml:"region"`
	Serverless bool   `yaml:"serverless"`
	// TokenLifetime overrides the 15-minute IAM token lifetime (tests only).
	TokenLifetime Duration `yaml:"token_lifetime"`
	// ReauthInterval is how often inspected sessions log in again in place
	// (default 10h with jitter; AWS closes IAM connections after 12 h).
	ReauthInterval Duration `yaml:"reauth_interval"`
	// MaxConnectionAge closes pass-through sessions, which cannot be
	// re-authenticated in place, at a jittered age in [MaxConnectionAge-30m, MaxConnectionAge]
	// (default 11h).
	MaxConnectionAge Duration `yaml:"max_connection_age"`

	// Password is resolved from PasswordEnv by Resolve; never from YAML.
	Password string `yaml:"-"`
}

// Roles a tenant can have.
const (
	RoleFull      = "full"
	RoleReadWrite = "readwrite"
	RoleReadOnly  = "readonly"
	// RoleReadWriteStrict is readwrite without @dangerous and scripts (what
	// readwrite meant before it followed what applications send).
	RoleReadWriteStrict = "readwrite-strict"
)

// Tenant is one client identity.
type Tenant struct {
	Name         string `yaml:"name"`
	SecretSHA256 string `yaml:"secret_sha256"`
	SecretEnv    string `yaml:"secret_env"`
	Upstream     string `yaml:"upstream"`
	DB           *int   `yaml:"db"`
	Role         string `yaml:"role"`
	// Commands are extra rules in Redis ACL syntax ("+@read -keys +set"),
	// applied after the role.
	Commands string `yaml:"commands"`
	// Credentials are more secrets for the tenant, each with its own ID
	// and optional expiry (rotation: add one, move clients, remove the
	// old). secret_env / secret_sha256 above stay, as credential "default".
	Credentials []Credential `yaml:"credentials"`
	// ShareDB is the opt-in for two tenants on the same upstream and DB:
	// both must set it (they see each other's keys).
	ShareDB bool `yaml:"share_db"`
	// EndSessionsAtExpiry overrides tokens.end_sessions_at_expiry for
	// this tenant.
	EndSessionsAtExpiry *bool `yaml:"end_sessions_at_expiry"`
	// UpstreamUser and UpstreamPasswordEnv name the tenant's own upstream
	// ACL user when its upstream has tenant_users: provided.
	UpstreamUser        string `yaml:"upstream_user"`
	UpstreamPasswordEnv string `yaml:"upstream_password_env"`

	// UpstreamPassword is resolved from UpstreamPasswordEnv by Resolve.
	UpstreamPassword string `yaml:"-"`

	// Fair-sharing limits (max_ops_per_second, ...); see fairshare.go.
	TenantLimits `yaml:",inline"`

	// SecretDigest is the SHA-256 of the secret, from SecretSHA256 or from
	// the value of SecretEnv, filled by Resolve.
	SecretDigest [32]byte `yaml:"-"`
}

// Credential is one of a tenant's secrets.
type Credential struct {
	ID           string `yaml:"id"`
	SecretEnv    string `yaml:"secret_env"`
	SecretSHA256 string `yaml:"secret_sha256"`
	// ExpiresAt is an RFC 3339 time ("2027-01-01T00:00:00Z"); "" = never.
	ExpiresAt string `yaml:"expires_at"`

	// Digest and Expires are filled by Resolve.
	Digest  [32]byte  `yaml:"-"`
	Expires time.Time `yaml:"-"`
}

// Tokens configures signed and legacy tokens.
type Tokens struct {
	Keys             []TokenKey       `yaml:"keys"`
	LegacySecretEnv  string           `yaml:"legacy_secret_env"`
	AllowUpstreams   []string         `yaml:"allow_upstreams"`
	Revoked          []string         `yaml:"revoked"`
	UpstreamDefaults UpstreamDefaults `yaml:"upstream_defaults"`
	DefaultTTL       Duration         `yaml:"default_ttl"`
	// EndSessionsAtExpiry ends a session when the credential or signed
	// token it logged in with expires (default true).
	EndSessionsAtExpiry *bool `yaml:"end_sessions_at_expiry"`

	// LegacySecret is resolved from LegacySecretEnv by Resolve.
	LegacySecret string `yaml:"-"`
}

// TokenKey is one HMAC key. The first key signs; all keys verify.
type TokenKey struct {
	ID        string `yaml:"id"`
	SecretEnv string `yaml:"secret_env"`

	// Secret is resolved from SecretEnv by Resolve.
	Secret []byte `yaml:"-"`
}

// UpstreamDefaults are TLS and login settings for routes that come from tokens.
type UpstreamDefaults struct {
	TLS         UpstreamTLS  `yaml:"tls"`
	Auth        UpstreamAuth `yaml:"auth"`
	DialTimeout Duration     `yaml:"dial_timeout"`
}

// Limits protect the proxy from misbehaving or hostile clients.
type Limits struct {
	AuthTimeout        Duration `yaml:"auth_timeout"`         // default 10s
	MaxAuthFailures    int      `yaml:"max_auth_failures"`    // default 3
	PreAuthMaxArgs     int      `yaml:"preauth_max_args"`     // default 10, as redis-server
	PreAuthMaxBulk     int      `yaml:"preauth_max_bulk"`     // default 16384, as redis-server
	MaxBulkLen         int64    `yaml:"max_bulk_len"`         // default 512 MiB (proto-max-bulk-len)
	MaxInlineLen       int      `yaml:"max_inline_len"`       // default 64 KiB
	MaxConnections     int      `yaml:"max_connections"`      // client connections in all; 0 = derived from the descriptor limit, -1 = unlimited
	MaxConnsPerTenant  int      `yaml:"max_conns_per_tenant"` // 0 = derived (at most 2000), -1 = unlimited
	ShutdownGrace      Duration `yaml:"shutdown_grace"`       // default 30s
	DialTimeout        Duration `yaml:"dial_timeout"`         // default 5s
	SpliceMinBytes     int      `yaml:"splice_min_bytes"`     // pass-through: queued bytes that switch a transfer to splice (default 256 KiB)
	PassthroughBufSize int      `yaml:"passthrough_buf_size"` // pooled read buffer of both relays (default 64 KiB)
	EventLoops         int      `yaml:"event_loops"`          // epoll loops for plain-TCP sessions; 0 = half of GOMAXPROCS, at least 1; read once at start
	AuthFailPerAddr    int      `yaml:"auth_fail_per_addr"`   // failed logins per source address per window before refusing it (default 30; -1 disables, as 0 means default)
	AuthFailWindow     Duration `yaml:"auth_fail_window"`     // default 1m
	// Connections not yet logged in, in all and per source address (an
	// IPv4 address or IPv6 /64): when full, the oldest such connection is
	// closed for the new one. max_unauthenticated is also the headroom kept
	// for logins: logged-in sessions hold at most max_connections minus it.
	// 0 = derived from max_connections, -1 = unlimited.
	MaxUnauthenticated        int `yaml:"max_unauthenticated"`
	MaxUnauthenticatedPerAddr int `yaml:"max_unauthenticated_per_addr"`
	// Fair sharing (see fairshare.go): defaults for every tenant's max_*
	// keys, how long a command over a rate limit may be held back before
	// it is refused, and how often quotas are sampled from the upstream.
	TenantDefaults   TenantLimits `yaml:"tenant_defaults"`
	ThrottleMaxDelay Duration     `yaml:"throttle_max_delay"` // default 1s
	QuotaInterval    Duration     `yaml:"quota_interval"`     // default 1s
	// What the inspecting relay may hold of the requests it must keep
	// whole: per session (redis-server's client-query-buffer-limit,
	// default 1 GiB) and for the whole process (default a quarter of the
	// memory the process may use: the cgroup's limit, else the machine's).
	ClientQueryBufferLimit int64 `yaml:"client_query_buffer_limit"`
	RequestMemoryBudget    int64 `yaml:"request_memory_budget"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error (default info)
	Format string `yaml:"format"` // text | json (default text)
	// AuditFile also writes audit events as JSON lines (docs/audit.md) to
	// this file, or to "stdout" / "stderr"; "" = only the log's audit lines.
	AuditFile string `yaml:"audit_file"`
}

// Duration is a time.Duration written in YAML as "10s", "1h30m".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
