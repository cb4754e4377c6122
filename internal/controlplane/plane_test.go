package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/store"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

const fileHead = `
listen: [{address: 127.0.0.1:0}]
upstreams:
  main: {address: 127.0.0.1:6379}
  other: {address: 127.0.0.1:6390}
tenants:
  - {name: filer, secret_sha256: "` + "0101010101010101010101010101010101010101010101010101010101010101" + `", upstream: main, db: 1}
`

type env struct {
	path  string
	store *store.Bolt
	plane *Plane
}

func newEnv(t testing.TB, file string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{path: filepath.Join(dir, "redoubt.yaml")}
	if err := os.WriteFile(e.path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := store.Open(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e.store = b
	e.plane = New(Options{Sources: []model.Source{NewFile(e.path, nil), b}, Store: b})
	if _, err := e.plane.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) tenants() string {
	var out []string
	for _, t := range e.plane.Current().Snapshot.Tenants {
		out = append(out, t.Name+"@"+t.Source)
	}
	return strings.Join(out, ",")
}

func one(n int) *int { return &n }

// A file reload and a store change arriving together end in one snapshot
// that has both; a file that no longer loads keeps the file's last good
// view while the store goes on; a store tenant on an upstream the file
// removes is left out and reported, not the whole snapshot.
func TestPlaneSources(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fileHead)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		os.WriteFile(e.path, []byte(fileHead+`  - {name: filer2, secret_sha256: "`+strings.Repeat("02", 32)+`", upstream: main, db: 2}
`), 0o600)
		e.plane.Refresh(ctx, 0, "test")
	}()
	go func() {
		defer wg.Done()
		if _, err := e.plane.PutTenant(ctx, model.Tenant{Name: "stored", Upstream: "other", DB: one(3)}); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	if got := e.tenants(); got != "filer@file,filer2@file,stored@store" {
		t.Fatalf("tenants %s", got)
	}

	if g := e.plane.Current().Generation; g != 3 { // start, file, store
		t.Errorf("generation %d after two changes, want 3", g)
	}
	okAt := e.plane.Sources()[0].LastOK
	os.WriteFile(e.path, []byte("tenants: [nonsense"), 0o600)
	e.plane.Refresh(ctx, 0, "test")
	// The probes and metrics see the failing file and the store's last load.
	if src := e.plane.Sources(); src[0].Name != "file" || src[0].Err == nil || !src[0].LastOK.Equal(okAt) ||
		src[1].Name != "store" || src[1].Err != nil || src[1].LastOK.IsZero() {
		t.Errorf("sources after a bad file: %+v", src)
	}
	if g := e.plane.Current().Generation; g != 3 {
		t.Errorf("generation %d after a refused file, want 3 (nothing swapped in)", g)
	}
	if _, err := e.plane.PutTenant(ctx, model.Tenant{Name: "stored2", Upstream: "main", DB: one(4)}); err != nil {
		t.Fatal(err)
	}
	if got := e.tenants(); got != "filer@file,filer2@file,stored@store,stored2@store" {
		t.Fatalf("after a bad file: %s", got)
	}

	os.WriteFile(e.path, []byte(strings.Replace(fileHead, "  other: {address: 127.0.0.1:6390}\n", "", 1)), 0o600)
	e.plane.Refresh(ctx, 0, "test")
	if got := e.tenants(); got != "filer@file,stored2@store" {
		t.Fatalf("after removing an upstream: %s", got)
	}
	probs := e.plane.Current().Snapshot.Problems
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), `store: tenant stored: upstream: unknown upstream "other"`) {
		t.Fatalf("problems %v", probs)
	}
}

// The API's operations refuse what Merge would skip, with the words of
// `redoubt check`, and change nothing; a file tenant is the file's.
func TestPlaneRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fileHead)
	var ve *ValidationError
	for _, tc := range []struct {
		desc string
		t    model.Tenant
		want string
	}{
		{"db out of range", model.Tenant{Name: "x", Upstream: "main", DB: one(99)}, "db: 99 out of range 0..15"},
		{"the file tenant's DB", model.Tenant{Name: "x", Upstream: "main", DB: one(1)}, `db: 1 on upstream "main" is tenant "filer"'s DB`},
		{"no db on a shared upstream", model.Tenant{Name: "x", Upstream: "main"}, "db: required on a shared upstream"},
		{"bad name", model.Tenant{Name: "a b", Upstream: "other"}, "name: may contain only"},
	} {
		_, err := e.plane.PutTenant(ctx, tc.t)
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.want)
		}
	}
	var se *SourceError
	if _, err := e.plane.PutTenant(ctx, model.Tenant{Name: "filer", Upstream: "other"}); !errors.As(err, &se) {
		t.Errorf("file tenant: %v", err)
	}
	if _, err := e.plane.IssueCredential(ctx, "filer", "", 0); !errors.As(err, &se) {
		t.Errorf("credential of a file tenant: %v", err)
	}
	if got := e.tenants(); got != "filer@file" {
		t.Fatalf("a refused change changed something: %s", got)
	}
}

// Revoking one credential invalidates the sessions of that credential
// only: 1,000 sessions of other credentials of the same and other tenants
// stay valid.
func TestRevokeOneCredential(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fileHead)
	var secrets []string
	for i := range 10 {
		name := fmt.Sprintf("t%d", i)
		if _, err := e.plane.PutTenant(ctx, model.Tenant{Name: name, Upstream: "main", DB: one(2 + i)}); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			is, err := e.plane.IssueCredential(ctx, name, fmt.Sprintf("c%d", j), 0)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, is.Secret)
		}
	}
	dir := e.plane.Current().Directory
	victim, err := dir.Authenticate([]byte("t0"), []byte(secrets[0]))
	if err != nil || victim.CredentialID != "c0" {
		t.Fatalf("login: %+v %v", victim, err)
	}
	var others []*tenant.Identity
	for i := range 1000 {
		s := secrets[1+i%(len(secrets)-1)]
		id, err := dir.Authenticate(nil, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, id)
	}
	if err := e.plane.RevokeCredential(ctx, "t0", "c0"); err != nil {
		t.Fatal(err)
	}
	after := e.plane.Current().Directory
	if ok, why := after.Check(victim); ok || why != "revoked" {
		t.Fatalf("revoked session: %v %q", ok, why)
	}
	for i, o := range others {
		if ok, why := after.Check(o); !ok {
			t.Fatalf("session %d of credential %s/%s ended: %s", i, o.Tenant, o.CredentialID, why)
		}
	}
}

// A file that validates but cannot be built (here: upstream credentials
// that cannot be had, as AWS IAM without AWS credentials) is refused; a
// store change afterwards builds on the last good file, not on it.
func TestPlaneRefusedBuildIsForgotten(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fileHead)
	e.plane.o.Creds = func(name string, a model.UpstreamAuth) (upstream.Credentials, error) {
		if name == "nocreds" {
			return nil, errors.New("no credentials for this upstream")
		}
		return nil, nil
	}
	os.WriteFile(e.path, []byte(strings.Replace(fileHead, "upstreams:\n", "upstreams:\n  nocreds: {address: 127.0.0.1:6391}\n", 1)), 0o600)
	e.plane.Refresh(ctx, 0, "test")
	if _, ok := e.plane.Current().Snapshot.Upstreams["nocreds"]; ok {
		t.Fatal("the refused file is in force")
	}
	if _, err := e.plane.PutTenant(ctx, model.Tenant{Name: "s", Upstream: "main", DB: one(7)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.plane.Current().Snapshot.Upstreams["nocreds"]; ok || e.tenants() != "filer@file,s@store" {
		t.Fatalf("a store change brought the refused file back: %s", e.tenants())
	}
}
