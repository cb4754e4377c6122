package model

// Limits are a tenant's fair-sharing limits as a source gives them (see
// the limits section of the policy docs). nil = the default
// (Snapshot.TenantDefaults), 0 = unlimited, so a tenant can be exempted
// from a default with an explicit 0. The field names match the keys
// (max_ops_per_second, ...) and the config and API types, which convert
// to Limits directly.
type Limits struct {
	MaxOpsPerSecond   *int64
	MaxBytesPerSecond *int64 // in and out, each
	MaxRequestBytes   *int64
	MaxValueBytes     *int64
	MaxOffset         *int64
	MaxKeys           *int64 // DB-pinned tenants only
	MaxMemoryBytes    *int64 // DB-pinned tenants only
}

// EffectiveLimits are a tenant's limits after defaults; 0 = unlimited.
type EffectiveLimits struct {
	OpsPerSecond, BytesPerSecond, RequestBytes, ValueBytes, Offset, Keys, MemoryBytes int64
}

// limitField is one limit with its key, for validation.
type limitField struct {
	key string
	v   *int64
}

func (l *Limits) fields() [7]limitField {
	return [7]limitField{
		{"max_ops_per_second", l.MaxOpsPerSecond}, {"max_bytes_per_second", l.MaxBytesPerSecond},
		{"max_request_bytes", l.MaxRequestBytes}, {"max_value_bytes", l.MaxValueBytes},
		{"max_offset", l.MaxOffset}, {"max_keys", l.MaxKeys}, {"max_memory_bytes", l.MaxMemoryBytes},
	}
}

// Set reports whether any limit is given (an explicit 0 included).
func (l Limits) Set() bool {
	for _, f := range l.fields() {
		if f.v != nil {
			return true
		}
	}
	return false
}

// Clone returns a copy that shares no pointer with l.
func (l Limits) Clone() Limits {
	for _, p := range []**int64{&l.MaxOpsPerSecond, &l.MaxBytesPerSecond, &l.MaxRequestBytes,
		&l.MaxValueBytes, &l.MaxOffset, &l.MaxKeys, &l.MaxMemoryBytes} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return l
}

// EffectiveLimits returns t's limits with the snapshot's tenant defaults
// filling what t leaves out. A pass-through tenant has none: its bytes are
// not inspected, so nothing could enforce them. Quotas (keys, memory) apply
// to DB-pinned tenants only: the sampler counts one DB.
func (s *Snapshot) EffectiveLimits(t *Tenant) EffectiveLimits {
	if s.PassThrough(t) {
		return EffectiveLimits{}
	}
	e := s.TenantDefaults.Effective(t.Limits)
	if t.DB == nil {
		e.Keys, e.MemoryBytes = 0, 0
	}
	return e
}

// Effective returns own's limits with d (the defaults) filling what own
// leaves out, quotas included.
func (d Limits) Effective(own Limits) EffectiveLimits {
	pick := func(v, def *int64) int64 {
		switch {
		case v != nil:
			return *v
		case def != nil:
			return *def
		}
		return 0
	}
	return EffectiveLimits{
		OpsPerSecond:   pick(own.MaxOpsPerSecond, d.MaxOpsPerSecond),
		BytesPerSecond: pick(own.MaxBytesPerSecond, d.MaxBytesPerSecond),
		RequestBytes:   pick(own.MaxRequestBytes, d.MaxRequestBytes),
		ValueBytes:     pick(own.MaxValueBytes, d.MaxValueBytes),
		Offset:         pick(own.MaxOffset, d.MaxOffset),
		Keys:           pick(own.MaxKeys, d.MaxKeys),
		MemoryBytes:    pick(own.MaxMemoryBytes, d.MaxMemoryBytes),
	}
}

// validateLimits reports negative limits, limits on a tenant relayed
// untouched (role full without db: in a valid snapshot exactly the
// pass-through tenants), and quotas without db. The messages are the ones
// `redoubt check` gives for a file tenant.
func validateLimits(t *Tenant, add func(path, format string, args ...any)) {
	l := &t.Limits
	for _, f := range l.fields() {
		if f.v != nil && *f.v < 0 {
			add(f.key, "must not be negative (0 means unlimited)")
		}
	}
	if l.Set() && t.Role == RoleFull && t.DB == nil {
		add("", "fair-sharing limits (max_*) need an inspected session, but role full on an upstream of its own is relayed untouched; give the tenant another role or a db")
	}
	if t.DB == nil && (positive(l.MaxKeys) || positive(l.MaxMemoryBytes)) {
		add("", "max_keys and max_memory_bytes are quotas of a DB-pinned tenant: set db")
	}
}

func positive(v *int64) bool { return v != nil && *v > 0 }
