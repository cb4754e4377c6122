package tenant

import (
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// snapOf is the snapshot of a configuration file alone.
func snapOf(cfg *config.Config) *model.Snapshot {
	return model.Merge([]model.SourcePart{{Source: model.SourceFile, Part: cfg.Part()}}, model.Checks{})
}

// BuildFrom is Build reusing what prev built for upstreams and tenants that
// did not change (targets with their TLS settings and IAM providers,
// routes, compiled policies): one change among thousands of tenants costs
// map inserts, not a new route per tenant. prev nil builds everything; a
// file reload passes nil so CA files are read again.
func BuildFrom(prev *Directory, snap *model.Snapshot, creds CredsFunc, now func() time.Time) (*Directory, error) {
	return BuildWith(snap, Options{Prev: prev, Creds: creds, Now: now})
}

// NewTenant makes a tenant with one credential, "default"; a zero digest
// with hasSecret=false is an mTLS-only tenant that cannot log in with AUTH.
func NewTenant(name string, digest [32]byte, hasSecret bool, r *Route) *Tenant {
	t := &Tenant{Name: name, Route: r, endAtExpiry: true}
	if hasSecret {
		t.creds = []credential{{id: "default", digest: digest}}
	}
	return t
}
