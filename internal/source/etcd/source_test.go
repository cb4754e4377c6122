package etcd

// These tests run against a real etcd (Debian's etcd-server, started by
// internal/etcdtest on free loopback ports).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/etcdtest"
	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

const prefix = "/redoubt/"

func client(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := NewClient(config.EtcdSource{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func startSource(t *testing.T, endpoint string, staleAfter time.Duration) *Source {
	t.Helper()
	src := New(Options{
		Config: config.EtcdSource{Prefix: prefix, StaleAfter: config.Duration(staleAfter), DialTimeout: config.Duration(time.Second)},
		Client: client(t, endpoint),
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !src.Start(ctx, 10*time.Second) {
		t.Fatal("first list did not complete")
	}
	return src
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func record(secrets ...string) string {
	r := Record{Upstream: "main", Credentials: []CredentialRecord{}}
	for i, s := range secrets {
		d := sha256.Sum256([]byte(s))
		r.Credentials = append(r.Credentials, CredentialRecord{ID: fmt.Sprintf("c%d", i), SecretSHA256: hex.EncodeToString(d[:])})
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func put(t *testing.T, cli *clientv3.Client, name, value string) int64 {
	t.Helper()
	resp, err := cli.Put(context.Background(), prefix+"tenants/"+name, value)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

func del(t *testing.T, cli *clientv3.Client, name string) {
	t.Helper()
	if _, err := cli.Delete(context.Background(), prefix+"tenants/"+name); err != nil {
		t.Fatal(err)
	}
}

func names(v *view.View) string {
	var n []string
	for _, t := range v.Tenants {
		n = append(n, fmt.Sprintf("%s:%d", t.Name, len(t.Credentials)))
	}
	return strings.Join(n, ",")
}

func waitNames(t *testing.T, src *Source, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for names(src.View()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("view %q, want %q", names(src.View()), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestListThenWatch(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := client(t, srv.Endpoint)
	put(t, cli, "alice", record("a1", "a2"))
	put(t, cli, "broken", `{"upstream": "main", "credentials": [{"id": "x", "secret_sha256": "nothex"}]}`)
	if _, err := cli.Put(context.Background(), prefix+"other/key", "not a tenant"); err != nil {
		t.Fatal(err)
	}
	src := startSource(t, srv.Endpoint, time.Minute)
	waitNames(t, src, "alice:2")
	if r := src.View().Rejected; len(r) != 1 || r[0].Entry != prefix+"tenants/broken" || r[0].Field != "credentials[0].secret_sha256" {
		t.Fatalf("rejected %+v", r)
	}

	put(t, cli, "bob", record("b"))
	waitNames(t, src, "alice:2,bob:1")
	put(t, cli, "alice", record("a1"))
	waitNames(t, src, "alice:1,bob:1")
	del(t, cli, "bob")
	waitNames(t, src, "alice:1")
	st := src.Stats().Read()
	if st.Generation < 4 || st.Entries != 1 || len(st.Rejected) != 1 || st.Stale {
		t.Fatalf("stats %+v", st)
	}
}

// A replica cut off from etcd misses a delete, and the history it would
// need to resume its watch is compacted meanwhile: when the link is back,
// the watch fails with "compacted", the source lists again and the
// deleted tenant goes away.
func TestDeleteMissedDuringCompactionIsNotLost(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := client(t, srv.Endpoint)
	link := newLinkProxy(t, strings.TrimPrefix(srv.Endpoint, "http://"))
	put(t, cli, "alice", record("a"))
	put(t, cli, "bob", record("b"))
	src := startSource(t, link.endpoint(), time.Minute)
	waitNames(t, src, "alice:1,bob:1")

	link.setCut(true)
	del(t, cli, "bob")
	put(t, cli, "carol", record("c"))
	rev := put(t, cli, "alice", record("a", "a2"))
	if _, err := cli.Compact(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the watch is down meanwhile: the view must stay
	if got := names(src.View()); got != "alice:1,bob:1" {
		t.Fatalf("view changed while cut off: %q", got)
	}
	link.setCut(false)
	waitNames(t, src, "alice:2,carol:1")
	if src.Stats().Read().Errors == 0 {
		t.Fatal("the broken watch was not counted as an error")
	}
}

// etcd itself restarts (same data): the view stays meanwhile, goes stale
// after stale_after, and the watch carries on afterwards.
func TestEtcdRestartAndStale(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := client(t, srv.Endpoint)
	put(t, cli, "alice", record("a"))
	src := startSource(t, srv.Endpoint, 300*time.Millisecond)
	waitNames(t, src, "alice:1")

	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for !src.Stale() {
		if time.Now().After(deadline) {
			t.Fatal("not stale with etcd down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := names(src.View()); got != "alice:1" {
		t.Fatalf("last good view lost: %q", got)
	}
	srv.Restart()
	put(t, cli, "bob", record("b"))
	waitNames(t, src, "alice:1,bob:1")
	deadline = time.Now().Add(10 * time.Second)
	for src.Stale() {
		if time.Now().After(deadline) {
			t.Fatal("still stale with etcd back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two writers adding credentials to one tenant at once both land: the
// store's transactions retry instead of overwriting each other.
func TestStoreConcurrentWriters(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := NewStore(client(t, srv.Endpoint), prefix, 0), NewStore(client(t, srv.Endpoint), prefix, 0)
	ctx := context.Background()
	if created, _, err := a.PutTenant(ctx, "alice", Record{Upstream: "main", Role: "readonly"}); err != nil || !created {
		t.Fatalf("put: %v %v", created, err)
	}
	d := sha256.Sum256([]byte("x"))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		for _, st := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("%p-%d", st, i)
				_, err := st.AddCredential(ctx, "alice", CredentialRecord{ID: id, SecretSHA256: hex.EncodeToString(d[:])})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, ok, err := a.Get(ctx, "alice")
	if err != nil || !ok || len(r.Credentials) != 40 || r.Role != "readonly" {
		t.Fatalf("record %+v %v %v", r, ok, err)
	}
	if created, _, err := b.PutTenant(ctx, "alice", Record{Upstream: "other"}); err != nil || created {
		t.Fatalf("replace: %v %v", created, err)
	}
	if _, err := a.RevokeCredential(ctx, "alice", r.Credentials[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeCredential(ctx, "alice", r.Credentials[0].ID); err != ErrNoCredential {
		t.Fatalf("second revoke: %v", err)
	}
	r, _, _ = a.Get(ctx, "alice")
	if len(r.Credentials) != 39 || r.Upstream != "other" {
		t.Fatalf("after replace and revoke: %+v", r)
	}
	if _, err := a.AddCredential(ctx, "nobody", CredentialRecord{ID: "x"}); err != ErrNoTenant {
		t.Fatalf("credential for a missing tenant: %v", err)
	}
}
