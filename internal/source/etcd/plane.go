package etcd

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// The Source is a model.Source: the control plane merges its view after
// the file's (and the embedded store's, when both are configured) and
// before Kubernetes'.

// Name is the source's name in listings, logs and metrics.
func (s *Source) Name() string { return model.SourceEtcd }

// Changed fires after each new view.
func (s *Source) Changed() <-chan struct{} { return s.changed }

// Load returns the current view; an error before the first list, so the
// control plane never serves a view it never had. After that the last
// good view is served while etcd is out of reach (Stale says since when).
func (s *Source) Load(context.Context) (model.Part, error) {
	if s.stats.Read().Generation == 0 {
		return model.Part{}, errors.New("etcd not listed yet (unreachable?)")
	}
	return s.View().Part(model.SourceEtcd, "key"), nil
}

// Backend is etcd as the admin API's store (store: {etcd: true}): writes
// go to etcd, and each call returns once this replica's watch has
// delivered the write, so the new snapshot is in force when the API
// answers. The other replicas apply it through their own watches.
type Backend struct {
	*Source
	st *Store
}

var _ model.Store = (*Backend)(nil)

// NewBackend makes a store over a running source; both use the source's
// client and prefix.
func NewBackend(src *Source) *Backend {
	return &Backend{Source: src, st: NewStore(src.cli, src.prefix, src.timeout)}
}

// PutTenant creates or replaces a tenant's settings; credentials stay.
func (b *Backend) PutTenant(ctx context.Context, t model.Tenant) (bool, error) {
	created, rev, err := b.st.PutTenant(ctx, t.Name, Record{
		Upstream: t.Upstream, DB: t.DB, Role: t.Role, Commands: t.Commands,
		ShareDB: t.ShareDB, EndSessionsAtExpiry: t.EndSessionsAtExpiry,
	})
	if err != nil {
		return false, err
	}
	return created, b.waitFor(ctx, rev)
}

// DeleteTenant removes a tenant and its credentials.
func (b *Backend) DeleteTenant(ctx context.Context, name string) error {
	deleted, rev, err := b.st.DeleteTenant(ctx, name)
	if err != nil {
		return err
	}
	if !deleted {
		return model.ErrNotFound
	}
	return b.waitFor(ctx, rev)
}

// GetTenant reads a tenant from etcd (not from the view: the API shows
// what is stored, even an entry the snapshot left out).
func (b *Backend) GetTenant(ctx context.Context, name string) (model.Tenant, error) {
	r, ok, err := b.st.Get(ctx, name)
	if err != nil {
		return model.Tenant{}, err
	}
	if !ok {
		return model.Tenant{}, model.ErrNotFound
	}
	t := model.Tenant{Name: name, Source: model.SourceEtcd, Upstream: r.Upstream, DB: r.DB, Role: r.Role,
		Commands: r.Commands, ShareDB: r.ShareDB, EndSessionsAtExpiry: r.EndSessionsAtExpiry}
	for _, c := range r.Credentials {
		mc := model.Credential{ID: c.ID}
		if d, err := hex.DecodeString(c.SecretSHA256); err == nil && len(d) == len(mc.Digest) {
			copy(mc.Digest[:], d)
		}
		if c.CreatedAt != nil {
			mc.CreatedAt = *c.CreatedAt
		}
		if c.ExpiresAt != nil {
			mc.ExpiresAt = *c.ExpiresAt
		}
		t.Credentials = append(t.Credentials, mc)
	}
	return t, nil
}

// AddCredential stores a credential's digest.
func (b *Backend) AddCredential(ctx context.Context, tenant string, c model.Credential) error {
	cr := CredentialRecord{ID: c.ID, SecretSHA256: hex.EncodeToString(c.Digest[:])}
	if !c.CreatedAt.IsZero() {
		t := c.CreatedAt
		cr.CreatedAt = &t
	}
	if !c.ExpiresAt.IsZero() {
		t := c.ExpiresAt
		cr.ExpiresAt = &t
	}
	rev, err := b.st.AddCredential(ctx, tenant, cr)
	if err != nil {
		return mapErr(err)
	}
	return b.waitFor(ctx, rev)
}

// RevokeCredential removes a credential; every replica's watch ends the
// sessions that logged in with it.
func (b *Backend) RevokeCredential(ctx context.Context, tenant, id string) error {
	rev, err := b.st.RevokeCredential(ctx, tenant, id)
	if err != nil {
		return mapErr(err)
	}
	return b.waitFor(ctx, rev)
}

// Close does nothing: the client belongs to whoever made the source.
func (b *Backend) Close() error { return nil }

func mapErr(err error) error {
	switch {
	case errors.Is(err, ErrNoTenant), errors.Is(err, ErrNoCredential):
		return model.ErrNotFound
	case errors.Is(err, ErrCredentialID):
		return model.ErrExists
	}
	return err
}
