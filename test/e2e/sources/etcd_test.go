package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/etcdtest"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/source/etcd"
	"github.com/redoubt-proxy/redoubt/internal/source/open"
)

func putTenant(t *testing.T, cli *clientv3.Client, name string, db int, creds map[string]string) {
	t.Helper()
	r := etcd.Record{Upstream: "main", DB: &db, Credentials: []etcd.CredentialRecord{}}
	for id, secret := range creds {
		d := sha256.Sum256([]byte(secret))
		r.Credentials = append(r.Credentials, etcd.CredentialRecord{ID: id, SecretSHA256: hex.EncodeToString(d[:])})
	}
	b, _ := json.Marshal(r)
	if _, err := cli.Put(context.Background(), "/redoubt/tenants/"+name, string(b)); err != nil {
		t.Fatal(err)
	}
}

// A key appears: its tenant logs in. A credential removed from the key,
// then the key deleted: exactly the sessions of what was removed end
// within 1 s. etcd restarts in between while sessions run.
func TestEtcdSourceLive(t *testing.T) {
	up := redistest.Start(t)
	srv := etcdtest.Start(t)
	cli, err := etcd.NewClient(config.EtcdSource{Endpoints: []string{srv.Endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	putTenant(t, cli, "alice", 3, map[string]string{"a": "alice-secret-a", "b": "alice-secret-b"})
	g := startGateway(t, open.Options{}, `
listen: [{address: %[1]s}]
admin: {address: %[2]s}
limits: {shutdown_grace: 1s}
upstreams: {main: {address: `+up.Addr+`}}
sources: {etcd: {endpoints: [`+srv.Endpoint+`], stale_after: 1s}}
`)
	sa := g.mustLogin(t, "alice", "alice-secret-a")
	sb := g.mustLogin(t, "alice", "alice-secret-b")
	if got := sa.do("SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET: %s", got)
	}

	// A new key: bob logs in.
	putTenant(t, cli, "bob", 4, map[string]string{"k": "bob-secret"})
	sbob := g.mustLogin(t, "bob", "bob-secret")

	// etcd restarts: sessions carry on, and the watch picks up again.
	srv.Restart()
	if got := sb.do("PING"); got != "+PONG" {
		t.Fatalf("session during the etcd restart: %s", got)
	}
	// A change right after the restart arrives (the watch resumed, or
	// the source listed again); the timings below then measure a live
	// watch, not the client's reconnection.
	putTenant(t, cli, "carol", 5, map[string]string{"k": "carol-secret"})
	g.mustLogin(t, "carol", "carol-secret").Close()

	// Credential a removed from the key: only a's session ends.
	start := time.Now()
	putTenant(t, cli, "alice", 3, map[string]string{"b": "alice-secret-b"})
	if !sa.closedWithin(time.Second) {
		t.Fatal("the removed credential's session still open after 1 s")
	}
	t.Logf("credential removed in etcd: its session ended after %v", time.Since(start))
	if got := sb.do("GET", "k"); got != "$1" {
		t.Fatalf("the other credential's session: %s", got)
	}

	// Key deleted: the tenant's sessions end; bob's stays.
	start = time.Now()
	if _, err := cli.Delete(context.Background(), "/redoubt/tenants/alice"); err != nil {
		t.Fatal(err)
	}
	if !sb.closedWithin(time.Second) {
		t.Fatal("a deleted key's session still open after 1 s")
	}
	t.Logf("key deleted: session ended after %v", time.Since(start))
	if got := sbob.do("PING"); got != "+PONG" {
		t.Fatalf("bob: %s", got)
	}
	if s, ok := g.login(t, "alice", "alice-secret-b"); ok {
		s.Close()
		t.Fatal("a deleted tenant still logs in")
	}

	// etcd gone: the last view serves, /readyz says stale, metrics say why.
	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := g.get(t, "/readyz")
		if code == 503 && strings.Contains(body, "etcd is stale") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d %q with etcd down", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s, ok := g.login(t, "bob", "bob-secret"); !ok {
		t.Fatal("the last good view was dropped while etcd is down")
	} else {
		s.Close()
	}
	_, metrics := g.get(t, "/metrics")
	for _, want := range []string{`redoubt_source_stale{source="etcd"} 1`, `redoubt_source_entries{source="etcd"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Two replicas keep run-time tenants in one etcd (store: {etcd: true}): a
// tenant and credential made through replica A's admin API log in on
// replica B, and revoking the credential on A ends B's session within 1 s.
func TestTwoReplicasShareEtcd(t *testing.T) {
	up := redistest.Start(t)
	srv := etcdtest.Start(t)
	t.Setenv("SOURCES_ADMIN_TOKEN", adminToken)
	cfg := `
listen: [{address: %[1]s}]
admin: {address: %[2]s, token_env: SOURCES_ADMIN_TOKEN}
limits: {shutdown_grace: 1s}
store: {etcd: true}
upstreams: {main: {address: ` + up.Addr + `}}
sources: {etcd: {endpoints: [` + srv.Endpoint + `]}}
`
	a := startGateway(t, open.Options{}, cfg)
	b := startGateway(t, open.Options{}, cfg)

	if code, out := a.api(t, "PUT", "/v1/tenants/shop", map[string]any{"upstream": "main", "db": 5}); code != 201 {
		t.Fatalf("PUT: %d %v", code, out)
	}
	code, out := a.api(t, "POST", "/v1/tenants/shop/credentials", map[string]any{"id": "web"})
	secret, _ := out["secret"].(string)
	if code != 201 || secret == "" {
		t.Fatalf("POST credential: %d %v", code, out)
	}
	code, out = a.api(t, "POST", "/v1/tenants/shop/credentials", map[string]any{"id": "jobs"})
	other, _ := out["secret"].(string)
	if code != 201 || other == "" {
		t.Fatalf("POST credential: %d %v", code, out)
	}
	onB := b.mustLogin(t, "shop", secret)
	otherOnB := b.mustLogin(t, "shop", other)
	onA := a.mustLogin(t, "shop", secret)
	if code, out := b.api(t, "GET", "/v1/tenants", nil); code != 200 || !strings.Contains(out["_raw"].(string), `"source":"etcd"`) {
		t.Fatalf("B's tenant list: %d %v", code, out["_raw"])
	}

	start := time.Now()
	if code, out := a.api(t, "DELETE", "/v1/tenants/shop/credentials/web", nil); code != 204 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	if !onA.closedWithin(time.Second) {
		t.Fatal("replica A: the revoked credential's session still open after 1 s")
	}
	if !onB.closedWithin(time.Second) {
		t.Fatal("replica B: the revoked credential's session still open after 1 s")
	}
	t.Logf("revoked on A: B's session ended after %v", time.Since(start))
	if got := otherOnB.do("PING"); got != "+PONG" {
		t.Fatalf("the other credential on B: %s", got)
	}
	if s, ok := b.login(t, "shop", secret); ok {
		s.Close()
		t.Fatal("revoked credential logs in on B")
	}
}
