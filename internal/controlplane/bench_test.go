package controlplane

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// benchEnv is n store tenants with 2 credentials each, on one shared
// upstream (max_db 20000, so each has a DB of its own).
func benchEnv(b *testing.B, n int) (*env, []string) {
	b.Helper()
	file := `
listen: [{address: 127.0.0.1:0}]
upstreams:
  big: {address: 127.0.0.1:6379, max_db: 20000}
tenants: []
`
	e := newEnv(b, file)
	ts := make([]model.Tenant, n)
	secrets := make([]string, 0, 2*n)
	for i := range ts {
		ts[i] = model.Tenant{Name: fmt.Sprintf("tenant-%05d", i), Upstream: "big", DB: one(i), Role: model.RoleReadWrite}
		for j := range 2 {
			s := fmt.Sprintf("secret-%d-%d-%064d", i, j, i)
			secrets = append(secrets, s)
			ts[i].Credentials = append(ts[i].Credentials, model.Credential{ID: fmt.Sprintf("c%d", j), Digest: sha256.Sum256([]byte(s))})
		}
	}
	if err := e.store.Import(ts); err != nil {
		b.Fatal(err)
	}
	e.plane.Refresh(context.Background(), 1, "import")
	if got := len(e.plane.Current().Snapshot.Tenants); got != n {
		b.Fatalf("%d tenants in the snapshot, want %d (%v)", got, n, e.plane.Current().Snapshot.Problems[:1])
	}
	return e, secrets
}

// BenchmarkSingleChange10k: one credential revoked among 10,000 tenants
// with 2 credentials each: the store write, the merge, the directory
// build and the swap (issue: at most 50 ms).
func BenchmarkSingleChange10k(b *testing.B) {
	e, _ := benchEnv(b, 10000)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("tenant-%05d", i%10000)
		id := fmt.Sprintf("extra-%d", i)
		b.StopTimer()
		if _, err := e.plane.IssueCredential(ctx, name, id, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := e.plane.RevokeCredential(ctx, name, id); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(e.plane.Stats().LastBuild.Microseconds())/1000, "ms/rebuild")
}

// BenchmarkLogin compares a login among 10 and among 10,000 tenants: both
// are one map lookup and constant-time compares.
func BenchmarkLogin(b *testing.B) {
	for _, n := range []int{10, 10000} {
		e, secrets := benchEnv(b, n)
		dir := e.plane.Current().Directory
		b.Run(fmt.Sprintf("tenants=%d/secret-only", n), func(b *testing.B) {
			for i := range b.N {
				if _, err := dir.Authenticate(nil, []byte(secrets[i%len(secrets)])); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("tenants=%d/named", n), func(b *testing.B) {
			for i := range b.N {
				k := i % len(secrets)
				if _, err := dir.Authenticate([]byte(fmt.Sprintf("tenant-%05d", k/2)), []byte(secrets[k])); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
