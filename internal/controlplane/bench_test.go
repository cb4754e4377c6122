package controlplane

import (
	"context"
	"crypto/sha256"
	"fmt"
	"syscall"
	"testing"
	"time"

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
	var cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("tenant-%05d", i%10000)
		id := fmt.Sprintf("extra-%d", i)
		b.StopTimer()
		if _, err := e.plane.IssueCredential(ctx, name, id, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		before := cpuTime()
		if err := e.plane.RevokeCredential(ctx, name, id); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - before
	}
	// The wall time suffers on a shared machine; the process's CPU time
	// (all threads, the garbage collector included) does not.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(e.plane.Stats().LastBuild.Microseconds())/1000, "ms/last-rebuild")
}

// BenchmarkLogin compares a login among 10 and among 10,000 tenants with
// the same 20 credentials (spread over the directory): both are one map
// lookup and constant-time compares. "every-credential" cycles through
// all 20,000, so it adds the CPU cache misses of a directory too big to
// stay in cache.
func BenchmarkLogin(b *testing.B) {
	for _, n := range []int{10, 10000} {
		e, secrets := benchEnv(b, n)
		dir := e.plane.Current().Directory
		type login struct{ user, secret []byte }
		var some, all []login
		for k, s := range secrets {
			l := login{[]byte(fmt.Sprintf("tenant-%05d", k/2)), []byte(s)}
			all = append(all, l)
			if k%(len(secrets)/20) == 0 {
				some = append(some, l)
			}
		}
		run := func(name string, ls []login, named bool) {
			b.Run(fmt.Sprintf("tenants=%d/%s", n, name), func(b *testing.B) {
				for i := range b.N {
					l := ls[i%len(ls)]
					user := l.user
					if !named {
						user = nil
					}
					if _, err := dir.Authenticate(user, l.secret); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		run("secret-only", some, false)
		run("named", some, true)
		if n > 10 {
			run("every-credential", all, false)
		}
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
