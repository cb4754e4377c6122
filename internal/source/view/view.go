// Package view is what a watched credential source (Kubernetes Secrets,
// etcd) hands to the control plane: the tenants it currently defines, the
// entries it had to skip and why, and its health counters. It has no
// dependency on client-go or the etcd client, so packages that only read
// views stay quick to build.
package view

import (
	"sort"
	"time"
)

// Credential is one secret of a tenant, kept only as its SHA-256 digest.
type Credential struct {
	ID        string
	Digest    [32]byte
	CreatedAt time.Time // zero: unknown
	ExpiresAt time.Time // zero: never
}

// Tenant is one tenant as a source defines it. Upstream names an upstream
// of the configuration file; the control plane validates the tenant
// against the merged view, as it does for file and store tenants.
type Tenant struct {
	Name        string
	Upstream    string
	DB          *int
	Role        string
	Commands    string
	Credentials []Credential
	// ShareDB and EndSessionsAtExpiry are as in the file's tenants
	// (etcd records carry them; Secrets do not).
	ShareDB             bool
	EndSessionsAtExpiry *bool
	// Origin says where the tenant came from, for logs and conflicts:
	// "namespace/name" of a Secret, or an etcd key.
	Origin string
}

// Rejection is an entry a source skipped. Reason never holds a secret.
type Rejection struct {
	Entry  string // namespace/name or etcd key
	Field  string // the data key or JSON field at fault ("" for the entry as a whole)
	Reason string
}

func (r Rejection) String() string {
	if r.Field == "" {
		return r.Entry + ": " + r.Reason
	}
	return r.Entry + ": " + r.Field + ": " + r.Reason
}

// View is one consistent state of a source.
type View struct {
	Tenants  []Tenant // sorted by name, names unique
	Rejected []Rejection
	// Generation counts the views a source published: 1 for the first.
	Generation uint64
}

// Sort orders tenants by name and rejections by entry, so that equal
// states compare equal and logs come out in a stable order.
func (v *View) Sort() {
	sort.Slice(v.Tenants, func(i, j int) bool { return v.Tenants[i].Name < v.Tenants[j].Name })
	sort.Slice(v.Rejected, func(i, j int) bool {
		a, b := v.Rejected[i], v.Rejected[j]
		if a.Entry != b.Entry {
			return a.Entry < b.Entry
		}
		return a.Field < b.Field
	})
}
