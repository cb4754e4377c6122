package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Tenants and credentials survive a restart; a replaced tenant keeps its
// credentials; revoking one leaves the other; the file holds digests only.
func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "redoubt.db")
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	three := 3
	if created, err := b.PutTenant(ctx, model.Tenant{Name: "alice", Upstream: "main", DB: &three, Role: "readwrite"}); err != nil || !created {
		t.Fatalf("put: %v %v", created, err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	secret := "a-secret-that-must-not-be-stored"
	c1 := model.Credential{ID: "one", Digest: [32]byte{1}, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	c2 := model.Credential{ID: "two", Digest: [32]byte{2}, ExpiresAt: exp}
	for _, c := range []model.Credential{c1, c2} {
		if err := b.AddCredential(ctx, "alice", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddCredential(ctx, "alice", c1); !errors.Is(err, model.ErrExists) {
		t.Fatalf("duplicate ID: %v", err)
	}
	if err := b.AddCredential(ctx, "bob", c1); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
	ops, none := int64(500), int64(0)
	lim := model.Limits{MaxOpsPerSecond: &ops, MaxKeys: &none} // an explicit 0 is kept, not dropped
	if created, err := b.PutTenant(ctx, model.Tenant{Name: "alice", Upstream: "main", DB: &three, Role: "readonly", Limits: lim}); err != nil || created {
		t.Fatalf("replace: %v %v", created, err)
	}
	select {
	case <-b.Changed():
	default:
		t.Fatal("a write did not signal Changed")
	}
	b.Close()

	b, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.GetTenant(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != "readonly" || *got.DB != 3 || len(got.Credentials) != 2 ||
		got.Credentials[0] != c1 || !got.Credentials[1].ExpiresAt.Equal(exp) || got.Credentials[1].Digest != c2.Digest {
		t.Fatalf("after restart: %+v", got)
	}
	if l := got.Limits; l.MaxOpsPerSecond == nil || *l.MaxOpsPerSecond != 500 || l.MaxKeys == nil || *l.MaxKeys != 0 ||
		l.MaxValueBytes != nil {
		t.Fatalf("limits after restart: %+v", l)
	}
	if err := b.RevokeCredential(ctx, "alice", "one"); err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeCredential(ctx, "alice", "one"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	p, _ := b.Load(ctx)
	if len(p.Tenants) != 1 || len(p.Tenants[0].Credentials) != 1 || p.Tenants[0].Credentials[0].ID != "two" {
		t.Fatalf("load: %+v", p.Tenants)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), secret) {
		t.Fatal("secret in the file")
	}
	if err := b.DeleteTenant(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetTenant(ctx, "alice"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
}

// A file another process holds, or one that is not a store, is a clear
// error at open.
func TestStoreOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "held.db")
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// bbolt's flock is per open file description, so a second Open in the
	// same process contends as another process would.
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("locked: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a bolt file ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(junk); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("junk: %v", err)
	}
}
