package config

import "time"

// Defaults of the operations keys (probes, metrics).
const (
	DefaultUnreadyAfter   = 30 * time.Second
	DefaultMetricsTenants = 100
)

func (c *Config) applyOpsDefaults() {
	setDur(&c.Admin.UnreadyAfter, DefaultUnreadyAfter)
	setInt(&c.Admin.MetricsTenants, DefaultMetricsTenants)
}

func (c *Config) validateOps(p *problems) {
	if c.Admin.UnreadyAfter < 0 {
		p.add("admin.unready_after", "must not be negative")
	}
	if c.Admin.MetricsTenants < 0 {
		p.add("admin.metrics_tenants", "must not be negative")
	}
}
