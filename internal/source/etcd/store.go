package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Store writes tenants and credentials to etcd for the admin API
// (store: {etcd: true}). Every replica's Source sees the change through
// its watch, so a credential revoked on one replica ends its sessions on
// all of them. Writes are read-modify-write transactions guarded by the
// key's mod revision, retried when another replica wrote in between.
type Store struct {
	cli     *clientv3.Client
	dir     string
	timeout time.Duration
}

// Errors the admin API maps to HTTP statuses.
var (
	ErrNoTenant     = errors.New("no such tenant")
	ErrNoCredential = errors.New("no such credential")
	ErrCredentialID = errors.New("credential ID already in use")
)

// NewStore writes under prefix (the source's prefix: both must agree).
func NewStore(cli *clientv3.Client, prefix string, timeout time.Duration) *Store {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Store{cli: cli, dir: prefix + tenantsDir, timeout: timeout}
}

// Key is the etcd key of a tenant.
func (st *Store) Key(name string) string { return st.dir + name }

// Get returns a tenant's record.
func (st *Store) Get(ctx context.Context, name string) (Record, bool, error) {
	r, _, ok, err := st.get(ctx, name)
	return r, ok, err
}

// PutTenant creates or replaces a tenant's settings; its credentials stay.
// created reports whether the tenant is new.
func (st *Store) PutTenant(ctx context.Context, name string, settings Record) (created bool, rev int64, err error) {
	rev, err = st.update(ctx, name, func(r *Record, exists bool) error {
		created = !exists
		creds := r.Credentials
		*r = settings
		r.Credentials = creds
		if r.Credentials == nil {
			r.Credentials = []CredentialRecord{}
		}
		return nil
	})
	return created, rev, err
}

// DeleteTenant removes a tenant and with it every credential.
func (st *Store) DeleteTenant(ctx context.Context, name string) (deleted bool, rev int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	resp, err := st.cli.Delete(ctx, st.Key(name))
	if err != nil {
		return false, 0, fmt.Errorf("etcd: delete tenant %s: %w", name, err)
	}
	return resp.Deleted > 0, resp.Header.Revision, nil
}

// AddCredential adds a credential (a digest, never a secret) to a tenant.
func (st *Store) AddCredential(ctx context.Context, name string, c CredentialRecord) (int64, error) {
	return st.update(ctx, name, func(r *Record, exists bool) error {
		if !exists {
			return ErrNoTenant
		}
		for _, have := range r.Credentials {
			if have.ID == c.ID {
				return ErrCredentialID
			}
		}
		r.Credentials = append(r.Credentials, c)
		return nil
	})
}

// RevokeCredential removes one credential of a tenant.
func (st *Store) RevokeCredential(ctx context.Context, name, id string) (int64, error) {
	return st.update(ctx, name, func(r *Record, exists bool) error {
		if !exists {
			return ErrNoTenant
		}
		for i, have := range r.Credentials {
			if have.ID == id {
				r.Credentials = append(r.Credentials[:i], r.Credentials[i+1:]...)
				return nil
			}
		}
		return ErrNoCredential
	})
}

func (st *Store) get(ctx context.Context, name string) (Record, int64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, st.timeout)
	defer cancel()
	resp, err := st.cli.Get(ctx, st.Key(name))
	if err != nil {
		return Record{}, 0, false, fmt.Errorf("etcd: read tenant %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		return Record{}, 0, false, nil
	}
	var r Record
	if err := json.Unmarshal(resp.Kvs[0].Value, &r); err != nil {
		return Record{}, 0, false, fmt.Errorf("etcd: tenant %s holds no valid record: %v", name, jsonError(err))
	}
	return r, resp.Kvs[0].ModRevision, true, nil
}

// update applies change to the current record and writes it back only if
// nobody wrote the key in between; otherwise it reads again and retries.
func (st *Store) update(ctx context.Context, name string, change func(r *Record, exists bool) error) (int64, error) {
	key := st.Key(name)
	for attempt := 0; attempt < 100; attempt++ {
		if attempt > 0 {
			// Someone else won the race: step aside a little, randomly,
			// so the losers of the next round are not the same writers.
			time.Sleep(time.Duration(rand.N(attempt*2+1)) * time.Millisecond)
		}
		r, rev, exists, err := st.get(ctx, name)
		if err != nil {
			return 0, err
		}
		if err := change(&r, exists); err != nil {
			return 0, err
		}
		val, err := json.Marshal(r)
		if err != nil {
			return 0, err
		}
		tctx, cancel := context.WithTimeout(ctx, st.timeout)
		resp, err := st.cli.Txn(tctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpPut(key, string(val))).
			Commit()
		cancel()
		if err != nil {
			return 0, fmt.Errorf("etcd: write tenant %s: %w", name, err)
		}
		if resp.Succeeded {
			return resp.Header.Revision, nil
		}
	}
	return 0, fmt.Errorf("etcd: write tenant %s: too many concurrent writers", name)
}
