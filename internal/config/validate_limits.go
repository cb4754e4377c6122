package config

// validateConnLimits checks the connection limits, where 0 means "derive
// from the descriptor limit" and -1 means "no limit".
func (c *Config) validateConnLimits(p *problems) {
	l := &c.Limits
	for _, n := range []struct {
		key string
		v   int
	}{
		{"max_connections", l.MaxConnections},
		{"max_conns_per_tenant", l.MaxConnsPerTenant},
		{"max_unauthenticated", l.MaxUnauthenticated},
		{"max_unauthenticated_per_addr", l.MaxUnauthenticatedPerAddr},
	} {
		if n.v < -1 {
			p.add("limits."+n.key, "must be -1 (no limit), 0 (derived default) or more")
		}
	}
	if l.MaxUnauthenticated > 0 && l.MaxConnections > 0 && l.MaxUnauthenticated >= l.MaxConnections {
		p.add("limits.max_unauthenticated", "must be below limits.max_connections (logged-in sessions hold the rest)")
	}
}
