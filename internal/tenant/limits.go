package tenant

import (
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// routeLimits carries a tenant's effective limits onto its route.
func routeLimits(e model.EffectiveLimits) limit.Limits {
	return limit.Limits{
		OpsPerSecond: e.OpsPerSecond, BytesPerSecond: e.BytesPerSecond,
		RequestBytes: e.RequestBytes, ValueBytes: e.ValueBytes, Offset: e.Offset,
		Keys: e.Keys, MemoryBytes: e.MemoryBytes,
	}
}

// Tenants returns the directory's tenants, for what works on all of them
// (the quota sampler).
func (d *Directory) Tenants() []*Tenant {
	out := make([]*Tenant, 0, len(d.byName))
	for _, t := range d.byName {
		out = append(out, t)
	}
	return out
}

// adHocLimits are the limits of inspected ad-hoc token routes: the rate
// and size defaults of limits.tenant_defaults. Quotas need a known tenant,
// whose DB the sampler watches, so they do not apply.
func adHocLimits(defaults model.Limits) limit.Limits {
	l := routeLimits(defaults.Effective(model.Limits{}))
	l.Keys, l.MemoryBytes = 0, 0
	return l
}
