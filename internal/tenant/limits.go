package tenant

import (
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
)

// routeLimits carries a tenant's configured limits onto its route.
func routeLimits(e config.EffectiveLimits) limit.Limits {
	return limit.Limits{
		OpsPerSecond: e.OpsPerSecond, BytesPerSecond: e.BytesPerSecond,
		RequestBytes: e.RequestBytes, ValueBytes: e.ValueBytes, Offset: e.Offset,
		Keys: e.Keys, MemoryBytes: e.MemoryBytes,
	}
}

// Tenants returns the configured tenants, for what works on all of them
// (the quota sampler).
func (d *Directory) Tenants() []*Tenant {
	out := make([]*Tenant, 0, len(d.byName))
	for _, t := range d.byName {
		out = append(out, t)
	}
	return out
}

// adHocLimits are the limits of inspected ad-hoc token routes: the rate
// and size defaults of limits.tenant_defaults. Quotas need a configured
// tenant, whose DB the sampler knows, so they do not apply.
func adHocLimits(cfg *config.Config) limit.Limits {
	l := routeLimits(cfg.EffectiveLimits(&config.Tenant{}))
	l.Keys, l.MemoryBytes = 0, 0
	return l
}
