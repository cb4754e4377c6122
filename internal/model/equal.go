package model

// Equal reports whether t and o are the same tenant with the same
// settings and credentials. tenant.BuildFrom reuses what it built for a
// tenant that is Equal to last time's, so every field must be compared
// here: TestTenantEqualCoversEveryField fails for a field added to Tenant
// and not to Equal.
func (t *Tenant) Equal(o *Tenant) bool {
	if t.Name != o.Name || t.Source != o.Source || t.Upstream != o.Upstream || t.Role != o.Role ||
		t.Commands != o.Commands || t.ShareDB != o.ShareDB ||
		t.UpstreamUser != o.UpstreamUser || t.UpstreamPassword != o.UpstreamPassword ||
		!eqPtr(t.DB, o.DB) || !eqPtr(t.EndSessionsAtExpiry, o.EndSessionsAtExpiry) ||
		!t.Limits.Equal(o.Limits) || len(t.Credentials) != len(o.Credentials) {
		return false
	}
	for i := range t.Credentials {
		a, b := &t.Credentials[i], &o.Credentials[i]
		if a.ID != b.ID || a.Digest != b.Digest || !a.CreatedAt.Equal(b.CreatedAt) || !a.ExpiresAt.Equal(b.ExpiresAt) {
			return false
		}
	}
	return true
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Equal reports whether l and o set the same limits (nil = the default).
func (l Limits) Equal(o Limits) bool {
	return eqPtr(l.MaxOpsPerSecond, o.MaxOpsPerSecond) && eqPtr(l.MaxBytesPerSecond, o.MaxBytesPerSecond) &&
		eqPtr(l.MaxRequestBytes, o.MaxRequestBytes) && eqPtr(l.MaxValueBytes, o.MaxValueBytes) &&
		eqPtr(l.MaxOffset, o.MaxOffset) && eqPtr(l.MaxKeys, o.MaxKeys) && eqPtr(l.MaxMemoryBytes, o.MaxMemoryBytes)
}
