package admin

import (
	"context"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// revokeTimeout bounds a revocation from the /ui/ page: the Plane returns
// once the new snapshot is in force (the credential's sessions ended).
const revokeTimeout = 30 * time.Second

// wirePlane fills what the probes, metrics and page read from the control
// plane, unless the caller set them: the snapshot's generation and build
// time (/startup waits for the first), its upstreams (/readyz dials them),
// the sources' last loads, and credential revocation for the page.
func (o *Options) wirePlane() {
	pl := o.Plane
	if o.Snapshot == nil {
		o.Snapshot = func() (uint64, time.Time) {
			st := pl.Current()
			if st == nil {
				return 0, time.Time{}
			}
			return st.Generation, st.Built
		}
	}
	if o.Upstreams == nil {
		o.Upstreams = func() map[string]string {
			st := pl.Current()
			if st == nil {
				return nil
			}
			out := make(map[string]string, len(st.Snapshot.Upstreams))
			for name, u := range st.Snapshot.Upstreams {
				out[name] = u.Address
			}
			return out
		}
	}
	if o.Sources == nil {
		o.Sources = func() []SourceStatus {
			list := pl.Sources()
			out := make([]SourceStatus, len(list))
			for i, s := range list {
				out[i] = SourceStatus{Name: s.Name, LastOK: s.LastOK, Err: s.Err, Local: s.Name == model.SourceFile}
			}
			return out
		}
	}
	if st := pl.Store(); st != nil && o.fixedCredential == nil {
		o.fixedCredential = func(tenant string) bool {
			cur := pl.Current()
			if cur == nil {
				return true
			}
			t, ok := cur.Snapshot.Tenant(tenant)
			return !ok || t.Source != st.Name()
		}
	}
	if o.RevokeCredential == nil && pl.Store() != nil {
		o.RevokeCredential = func(ctx context.Context, tenant, id string) error {
			ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
			defer cancel()
			return pl.RevokeCredential(ctx, tenant, id)
		}
	}
}
