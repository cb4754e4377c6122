// Package store is the embedded store of tenants and credentials made at
// run time (bbolt, one file): the default home of run-time credentials on
// a single node. It keeps only SHA-256 digests of secrets, survives
// restarts, and is a model.Source: every write signals the control plane,
// which merges the store's view with the other sources.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

var bucketTenants = []byte("tenants")

// Bolt is a model.Store in a bbolt file. Reads are served from a copy in
// memory, updated after each committed write, so Load costs no disk read.
type Bolt struct {
	db     *bolt.DB
	path   string
	notify model.Notify

	mu       sync.RWMutex
	version  uint64 // bumped by every write (Part.Version)
	tenants  map[string]model.Tenant
	problems []model.Problem // records that did not decode
}

var _ model.Store = (*Bolt)(nil)

// Open opens (or creates) the store file. A file another process holds
// open, or that is not a bbolt file, is a clear error: the caller exits.
func Open(path string) (b *Bolt, err error) {
	defer func() {
		// bbolt can panic on some damaged files instead of returning an error.
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("store %s: corrupt file: %v", path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s: locked by another process (is another redoubt using it?)", path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("store %s: corrupt file or not a redoubt store: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	b = &Bolt{db: db, path: path, notify: model.NewNotify(), tenants: map[string]model.Tenant{}, version: 1}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketTenants)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := b.loadAll(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: corrupt file: %w", path, err)
	}
	return b, nil
}

func (b *Bolt) loadAll() error {
	return b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTenants).ForEach(func(k, v []byte) error {
			t, err := decodeTenant(string(k), v)
			if err != nil {
				b.problems = append(b.problems, model.Problem{Source: model.SourceStore,
					Entry: "tenant " + string(k), Msg: "unreadable record: " + err.Error()})
				return nil
			}
			b.tenants[t.Name] = t
			return nil
		})
	})
}

// Close releases the file.
func (b *Bolt) Close() error { return b.db.Close() }

// Name implements model.Source.
func (b *Bolt) Name() string { return model.SourceStore }

// Changed implements model.Source: it fires after every committed write.
func (b *Bolt) Changed() <-chan struct{} { return b.notify }

// Load implements model.Source.
func (b *Bolt) Load(context.Context) (model.Part, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	p := model.Part{Tenants: make([]model.Tenant, 0, len(b.tenants)), Problems: append([]model.Problem(nil), b.problems...),
		Version: b.version}
	// No copies: a tenant value in b.tenants is never changed in place
	// (change replaces it), so the part may share its slices. Merge sorts.
	for _, t := range b.tenants {
		p.Tenants = append(p.Tenants, t)
	}
	return p, nil
}

// GetTenant implements model.Store.
func (b *Bolt) GetTenant(_ context.Context, name string) (model.Tenant, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.tenants[name]
	if !ok {
		return model.Tenant{}, fmt.Errorf("tenant %q: %w", name, model.ErrNotFound)
	}
	return t.Clone(), nil
}

// PutTenant implements model.Store.
func (b *Bolt) PutTenant(_ context.Context, t model.Tenant) (bool, error) {
	var created bool
	err := b.change(t.Name, func(old *model.Tenant) (*model.Tenant, error) {
		nt := t.Clone()
		nt.Source = model.SourceStore
		nt.Credentials = nil
		if old != nil {
			nt.Credentials = old.Credentials
		}
		created = old == nil
		return &nt, nil
	})
	return created, err
}

// DeleteTenant implements model.Store.
func (b *Bolt) DeleteTenant(_ context.Context, name string) error {
	return b.change(name, func(old *model.Tenant) (*model.Tenant, error) {
		if old == nil {
			return nil, fmt.Errorf("tenant %q: %w", name, model.ErrNotFound)
		}
		return nil, nil
	})
}

// AddCredential implements model.Store.
func (b *Bolt) AddCredential(_ context.Context, tenant string, c model.Credential) error {
	return b.change(tenant, func(old *model.Tenant) (*model.Tenant, error) {
		if old == nil {
			return nil, fmt.Errorf("tenant %q: %w", tenant, model.ErrNotFound)
		}
		if _, dup := old.Credential(c.ID); dup {
			return nil, fmt.Errorf("credential %q of tenant %q: %w", c.ID, tenant, model.ErrExists)
		}
		nt := old.Clone()
		nt.Credentials = append(nt.Credentials, c)
		return &nt, nil
	})
}

// RevokeCredential implements model.Store.
func (b *Bolt) RevokeCredential(_ context.Context, tenant, id string) error {
	return b.change(tenant, func(old *model.Tenant) (*model.Tenant, error) {
		if old == nil {
			return nil, fmt.Errorf("tenant %q: %w", tenant, model.ErrNotFound)
		}
		nt := old.Clone()
		nt.Credentials = nt.Credentials[:0]
		for _, c := range old.Credentials {
			if c.ID != id {
				nt.Credentials = append(nt.Credentials, c)
			}
		}
		if len(nt.Credentials) == len(old.Credentials) {
			return nil, fmt.Errorf("credential %q of tenant %q: %w", id, tenant, model.ErrNotFound)
		}
		return &nt, nil
	})
}

// Import writes many tenants, with their credentials, in one transaction
// (a bulk load; one write per tenant would sync the file each time).
// Existing tenants of the same names are replaced.
func (b *Bolt) Import(ts []model.Tenant) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketTenants)
		for i := range ts {
			v, err := encodeTenant(&ts[i])
			if err != nil {
				return err
			}
			if err := bk.Put([]byte(ts[i].Name), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", b.path, err)
	}
	for _, t := range ts {
		t = t.Clone()
		t.Source = model.SourceStore
		b.tenants[t.Name] = t
	}
	b.version++
	b.notify.Signal()
	return nil
}

// change runs one read-modify-write of a tenant's record in a bbolt
// transaction: f gets the current tenant (nil if absent) and returns the
// new one (nil to delete). Writers are serialized by b.mu, so the memory
// copy always matches the file.
func (b *Bolt) change(name string, f func(old *model.Tenant) (*model.Tenant, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var old *model.Tenant
	if t, ok := b.tenants[name]; ok {
		old = &t
	}
	nt, err := f(old)
	if err != nil {
		return err
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketTenants)
		if nt == nil {
			return bk.Delete([]byte(name))
		}
		v, err := encodeTenant(nt)
		if err != nil {
			return err
		}
		return bk.Put([]byte(name), v)
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", b.path, err)
	}
	if nt == nil {
		delete(b.tenants, name)
	} else {
		b.tenants[name] = *nt
	}
	b.version++
	b.notify.Signal()
	return nil
}
