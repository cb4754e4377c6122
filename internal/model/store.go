package model

import (
	"context"
	"errors"
)

// Errors of a Store, for the admin API and the broker to map to answers.
var (
	ErrNotFound = errors.New("not found")      // no such tenant or credential
	ErrExists   = errors.New("already exists") // a credential ID taken
)

// Store is where tenants and credentials made at run time are written:
// the embedded bbolt store (package store) on a single node, or etcd
// shared by replicas. It is also the Source that feeds them to the
// snapshot. Only digests of secrets are ever written.
//
// Writes are validated by the caller (the control plane, against the
// merged snapshot); a Store checks only that what it is asked makes sense
// for itself (a credential for a tenant it holds, a unique credential ID).
type Store interface {
	Source
	// PutTenant creates or replaces a tenant's settings. A replaced tenant
	// keeps its credentials (t.Credentials is ignored); created reports
	// whether the tenant is new.
	PutTenant(ctx context.Context, t Tenant) (created bool, err error)
	// DeleteTenant removes a tenant and its credentials; ErrNotFound if
	// the store does not hold it.
	DeleteTenant(ctx context.Context, name string) error
	// GetTenant returns a tenant with its credentials; ErrNotFound if absent.
	GetTenant(ctx context.Context, name string) (Tenant, error)
	// AddCredential adds a credential to a tenant the store holds:
	// ErrNotFound without the tenant, ErrExists when the ID is taken.
	AddCredential(ctx context.Context, tenant string, c Credential) error
	// RevokeCredential removes one credential: ErrNotFound when the tenant
	// or the credential is absent.
	RevokeCredential(ctx context.Context, tenant, id string) error
	// Close releases the store.
	Close() error
}
