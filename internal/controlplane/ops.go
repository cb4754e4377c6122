package controlplane

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// ErrNoStore: the admin API was asked to change something, and no store
// is configured to keep it.
var ErrNoStore = errors.New("no store configured (store.path)")

// SourceError: the tenant is defined by a source of higher precedence
// (the file), which the admin API does not change.
type SourceError struct {
	Tenant, Source string
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("tenant %q is defined by source %s; change it there", e.Tenant, e.Source)
}

// ValidationError lists why a tenant was refused, with the messages a
// file tenant gets from `redoubt check`.
type ValidationError struct {
	Errs []model.FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

// Issued is a credential just made: the only time its secret is known.
type Issued struct {
	Tenant     string
	Credential model.Credential
	Secret     string
}

// PutTenant creates or replaces a store tenant, validated against the
// merged view exactly as Merge would; a refused tenant changes nothing.
// It returns once the new snapshot is in force.
func (p *Plane) PutTenant(ctx context.Context, t model.Tenant) (created bool, err error) {
	if p.o.Store == nil {
		return false, ErrNoStore
	}
	if t.Role == "" {
		t.Role = model.RoleReadWrite
	}
	// The store is the embedded one ("store") or etcd ("etcd").
	t.Source, t.Credentials = p.o.Store.Name(), nil
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.owned(t.Name); err != nil {
		return false, err
	}
	check := t
	if old, err := p.o.Store.GetTenant(ctx, t.Name); err == nil {
		check.Credentials = old.Credentials // the checks see what will be merged
	}
	if errs := p.cur.Load().Snapshot.Check(&check, Checks()); len(errs) > 0 {
		return false, &ValidationError{Errs: errs}
	}
	created, err = p.o.Store.PutTenant(ctx, t)
	if err != nil {
		return false, err
	}
	p.refreshStoreLocked(ctx)
	return created, nil
}

// DeleteTenant removes a store tenant; its live sessions end before it
// returns.
func (p *Plane) DeleteTenant(ctx context.Context, name string) error {
	if p.o.Store == nil {
		return ErrNoStore
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.owned(name); err != nil {
		return err
	}
	if err := p.o.Store.DeleteTenant(ctx, name); err != nil {
		return err
	}
	p.refreshStoreLocked(ctx)
	return nil
}

// IssueCredential makes a credential for a store tenant: 256 random bits
// from crypto/rand, of which only the SHA-256 is kept. id "" picks one;
// ttl 0 = no expiry.
func (p *Plane) IssueCredential(ctx context.Context, tenantName, id string, ttl time.Duration) (Issued, error) {
	if p.o.Store == nil {
		return Issued{}, ErrNoStore
	}
	if ttl < 0 {
		return Issued{}, &ValidationError{Errs: []model.FieldError{{Path: "ttl", Msg: "must not be negative"}}}
	}
	if id == "" {
		id = "c-" + randomHex(6)
	} else if !model.ValidName(id) {
		return Issued{}, &ValidationError{Errs: []model.FieldError{{Path: "id", Msg: "may contain only letters, digits, '.', '_' and '-' (at most 128)"}}}
	}
	secret, err := NewSecret()
	if err != nil {
		return Issued{}, err
	}
	now := p.o.Now().UTC()
	c := model.Credential{ID: id, Digest: sha256.Sum256([]byte(secret)), CreatedAt: now}
	if ttl > 0 {
		c.ExpiresAt = now.Add(ttl)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.owned(tenantName); err != nil {
		return Issued{}, err
	}
	if err := p.o.Store.AddCredential(ctx, tenantName, c); err != nil {
		return Issued{}, err
	}
	p.refreshStoreLocked(ctx)
	return Issued{Tenant: tenantName, Credential: c, Secret: secret}, nil
}

// RevokeCredential removes one credential of a store tenant; the sessions
// that logged in with it, and only those, end before it returns.
func (p *Plane) RevokeCredential(ctx context.Context, tenantName, id string) error {
	if p.o.Store == nil {
		return ErrNoStore
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.owned(tenantName); err != nil {
		return err
	}
	if err := p.o.Store.RevokeCredential(ctx, tenantName, id); err != nil {
		return err
	}
	p.refreshStoreLocked(ctx)
	return nil
}

// owned refuses a tenant another source defines in the current snapshot,
// when that source takes precedence over the store.
func (p *Plane) owned(name string) error {
	t, ok := p.cur.Load().Snapshot.Tenant(name)
	if !ok || t.Source == p.o.Store.Name() {
		return nil
	}
	for _, s := range p.o.Sources {
		switch s.Name() {
		case p.o.Store.Name():
			return nil // the store comes first: the other source's tenant loses
		case t.Source:
			return &SourceError{Tenant: name, Source: t.Source}
		}
	}
	return nil
}

// NewSecret returns 256 bits from crypto/rand, base64url without padding
// (43 characters: fits any Redis client's password field).
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
