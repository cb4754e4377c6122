package config

import (
	"strings"
	"time"
)

// Defaults, in one place. Values mirror redis-server where there is a
// redis-server equivalent, so clients see the limits they already know.
const (
	DefaultAuthTimeout        = 10 * time.Second
	DefaultMaxAuthFailures    = 3
	DefaultPreAuthMaxArgs     = 10        // redis-server: unauthenticated multibulk length
	DefaultPreAuthMaxBulk     = 16 * 1024 // redis-server: unauthenticated bulk length
	DefaultMaxBulkLen         = 512 << 20 // redis-server: proto-max-bulk-len
	DefaultMaxInlineLen       = 64 << 10  // redis-server: PROTO_INLINE_MAX_SIZE
	DefaultShutdownGrace      = 30 * time.Second
	DefaultDialTimeout        = 5 * time.Second
	DefaultSpliceMinBytes     = 256 << 10
	DefaultPassthroughBufSize = 64 << 10
	maxEventLoops             = 256
	DefaultAuthFailPerAddr    = 30
	DefaultAuthFailWindow     = time.Minute

	DefaultMaxDB = 15 // redis-server's default of 16 databases
	DefaultRole  = RoleReadWrite

	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"

	// AWS IAM: tokens are valid 15 minutes, and AWS closes an
	// IAM-authenticated connection after 12 hours unless it logs in again.
	DefaultIAMTokenLifetime    = 15 * time.Minute
	DefaultIAMReauthInterval   = 10 * time.Hour
	DefaultIAMMaxConnectionAge = 11 * time.Hour
)

// ApplyDefaults fills every unset value with its default. It is idempotent,
// and runs before Validate so validation sees the values that will be used.
// A zero in the file means "default": limits cannot be switched off by
// writing 0 (except max_connections and max_conns_per_tenant, where 0
// already means unlimited); the per-address throttle is switched off with
// auth_fail_per_addr: -1.
func (c *Config) ApplyDefaults() {
	l := &c.Limits
	setDur(&l.AuthTimeout, DefaultAuthTimeout)
	setInt(&l.MaxAuthFailures, DefaultMaxAuthFailures)
	setInt(&l.PreAuthMaxArgs, DefaultPreAuthMaxArgs)
	setInt(&l.PreAuthMaxBulk, DefaultPreAuthMaxBulk)
	if l.MaxBulkLen == 0 {
		l.MaxBulkLen = DefaultMaxBulkLen
	}
	setInt(&l.MaxInlineLen, DefaultMaxInlineLen)
	setDur(&l.ShutdownGrace, DefaultShutdownGrace)
	setDur(&l.DialTimeout, DefaultDialTimeout)
	setInt(&l.SpliceMinBytes, DefaultSpliceMinBytes)
	setInt(&l.PassthroughBufSize, DefaultPassthroughBufSize)
	setInt(&l.AuthFailPerAddr, DefaultAuthFailPerAddr) // -1 disables; see validateLimits
	setDur(&l.AuthFailWindow, DefaultAuthFailWindow)
	if c.Tokens.EndSessionsAtExpiry == nil {
		on := true
		c.Tokens.EndSessionsAtExpiry = &on
	}
	l.applyFairDefaults()
	if l.ClientQueryBufferLimit == 0 {
		l.ClientQueryBufferLimit = DefaultClientQueryBufferLimit
	}
	if l.RequestMemoryBudget == 0 {
		l.RequestMemoryBudget = DefaultRequestMemoryBudget()
	}

	for name, u := range c.Upstreams {
		if u.MaxDB == nil {
			n := DefaultMaxDB
			u.MaxDB = &n
		}
		setDur(&u.DialTimeout, l.DialTimeout.D())
		u.Auth.applyDefaults()
		c.Upstreams[name] = u
	}
	setDur(&c.Tokens.UpstreamDefaults.DialTimeout, l.DialTimeout.D())
	c.Tokens.UpstreamDefaults.Auth.applyDefaults()

	for i := range c.Listen {
		if t := c.Listen[i].TLS; t != nil && t.ClientCAFile != "" && t.ClientAuth == "" {
			t.ClientAuth = ClientAuthRequire
		}
	}
	c.Tokens.Revoked = normalizeRevoked(c.Tokens.Revoked)

	for i := range c.Tenants {
		// Deny by default: an unset role never becomes full.
		if c.Tenants[i].Role == "" {
			c.Tenants[i].Role = DefaultRole
		}
	}

	c.Sources.applyDefaults(l.DialTimeout.D())

	c.applyOpsDefaults()
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
}

func (a *UpstreamAuth) applyDefaults() {
	if a.Mode == "" {
		a.Mode = AuthNone
	}
	if a.Mode != AuthAWSIAM {
		return
	}
	setDur(&a.TokenLifetime, DefaultIAMTokenLifetime)
	setDur(&a.ReauthInterval, DefaultIAMReauthInterval)
	setDur(&a.MaxConnectionAge, DefaultIAMMaxConnectionAge)
	// AWS canonicalizes cache names to lower case and signs the lowered
	// name; a token for "My-Cache" would be refused as WRONGPASS.
	a.CacheName = strings.ToLower(a.CacheName)
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func setInt(n *int, def int) {
	if *n == 0 {
		*n = def
	}
}

// normalizeRevoked writes token ids the way tokens carry them: lower case,
// without the spaces or dashes of a hand-copied or UUID-style spelling. An
// entry that is still not a token id is left for Validate to report, so a
// typo is refused instead of silently revoking nothing.
func normalizeRevoked(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		id = strings.ToLower(strings.Join(strings.Fields(id), ""))
		out[i] = strings.ReplaceAll(id, "-", "")
	}
	return out
}
