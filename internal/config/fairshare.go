package config

import (
	"fmt"
	"time"
)

// TenantLimits are a tenant's fair-sharing limits (docs/policy.md). They
// sit inline in a tenant entry and, as defaults for every tenant, under
// limits.tenant_defaults. A key a tenant leaves out takes the default; 0
// means unlimited, so a tenant can be exempted from a default with 0.
// The fields are model.Limits's, which Part converts them to; the
// effective limits are the snapshot's (model.Snapshot.EffectiveLimits).
type TenantLimits struct {
	MaxOpsPerSecond   *int64 `yaml:"max_ops_per_second"`
	MaxBytesPerSecond *int64 `yaml:"max_bytes_per_second"` // in and out, each
	MaxRequestBytes   *int64 `yaml:"max_request_bytes"`
	MaxValueBytes     *int64 `yaml:"max_value_bytes"`
	MaxOffset         *int64 `yaml:"max_offset"`
	MaxKeys           *int64 `yaml:"max_keys"`         // DB-pinned tenants
	MaxMemoryBytes    *int64 `yaml:"max_memory_bytes"` // DB-pinned tenants
}

// Fair-sharing defaults.
const (
	DefaultThrottleMaxDelay = time.Second
	DefaultQuotaInterval    = time.Second
)

// fields lists the limits with their keys, for validation and resolution.
func (l *TenantLimits) fields() []struct {
	key string
	v   *int64
} {
	return []struct {
		key string
		v   *int64
	}{
		{"max_ops_per_second", l.MaxOpsPerSecond}, {"max_bytes_per_second", l.MaxBytesPerSecond},
		{"max_request_bytes", l.MaxRequestBytes}, {"max_value_bytes", l.MaxValueBytes},
		{"max_offset", l.MaxOffset}, {"max_keys", l.MaxKeys}, {"max_memory_bytes", l.MaxMemoryBytes},
	}
}

// set reports whether any limit is given (0 included).
func (l *TenantLimits) set() bool {
	for _, f := range l.fields() {
		if f.v != nil {
			return true
		}
	}
	return false
}

func (l *Limits) applyFairDefaults() {
	setDur(&l.ThrottleMaxDelay, DefaultThrottleMaxDelay)
	setDur(&l.QuotaInterval, DefaultQuotaInterval)
}

// validateFairShare checks every limit is >= 0, and that limits are only
// given where they can be enforced.
func (c *Config) validateFairShare(p *problems) {
	checkNonNegative(p, "limits.tenant_defaults", &c.Limits.TenantDefaults)
	if c.Limits.ThrottleMaxDelay < 0 {
		p.add("limits.throttle_max_delay", "must not be negative")
	}
	if c.Limits.QuotaInterval < 0 {
		p.add("limits.quota_interval", "must not be negative")
	}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		path := fmt.Sprintf("tenants[%d]", i)
		checkNonNegative(p, path, &t.TenantLimits)
		if t.TenantLimits.set() && t.PassThrough(c) {
			p.add(path, "fair-sharing limits (max_*) need an inspected session, but role full on an upstream of its own is relayed untouched; give the tenant another role or a db")
		}
		if t.DB == nil && (t.MaxKeys != nil && *t.MaxKeys > 0 || t.MaxMemoryBytes != nil && *t.MaxMemoryBytes > 0) {
			p.add(path, "max_keys and max_memory_bytes are quotas of a DB-pinned tenant: set db")
		}
	}
}

func checkNonNegative(p *problems, path string, l *TenantLimits) {
	for _, f := range l.fields() {
		if f.v != nil && *f.v < 0 {
			p.add(path+"."+f.key, "must not be negative (0 means unlimited)")
		}
	}
}
