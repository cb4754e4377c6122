package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// coreSetup is one redis-server and a gateway with a pass-through tenant
// (bob owns "own") and an inspected tenant (alice, DB 3 on "shared",
// which is a second redis-server so bob's upstream is really his alone).
type coreSetup struct {
	own, shared *redistest.Server
	gw          *Gateway
	addr        string
}

const (
	bobSecret   = "bob-secret-0123456789"
	aliceSecret = "alice-secret-0123456789"
	carolSecret = "carol-secret-0123456789"
)

func startCore(t *testing.T, extra string) *coreSetup {
	t.Helper()
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("ALICE_SECRET", aliceSecret)
	t.Setenv("CAROL_SECRET", carolSecret)
	s := &coreSetup{own: redistest.Start(t), shared: redistest.Start(t), addr: freeAddr(t)}
	cfg := fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  own: {address: %s}
  shared: {address: %s}
tenants:
  - {name: bob, secret_env: BOB_SECRET, upstream: own, role: full}
  - {name: alice, secret_env: ALICE_SECRET, upstream: shared, db: 3, role: readwrite}
  - {name: carol, secret_env: CAROL_SECRET, upstream: shared, db: 4, role: readwrite}
%s`, s.addr, s.own.Addr, s.shared.Addr, extra)
	s.gw = startGateway(t, cfg, s.addr)
	return s
}

func client(t *testing.T, addr, user, pass string, opt func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: addr, Username: user, Password: pass, DialTimeout: 5 * time.Second,
		ReadTimeout: 20 * time.Second, WriteTimeout: 20 * time.Second}
	if opt != nil {
		opt(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCoreClientsThroughBothRelays(t *testing.T) {
	s := startCore(t, "")
	ctx := context.Background()
	for _, tc := range []struct {
		desc, user, pass string
		proto            int
		db               int
		srv              *redistest.Server
	}{
		{desc: "pass-through, HELLO 3 AUTH default", pass: bobSecret, proto: 3, srv: s.own},
		{desc: "pass-through, RESP2 AUTH", pass: bobSecret, proto: 2, srv: s.own},
		{desc: "inspected, HELLO 3 AUTH tenant secret", user: "alice", pass: aliceSecret, proto: 3, db: 3, srv: s.shared},
		{desc: "inspected, RESP2 AUTH secret", pass: aliceSecret, proto: 2, db: 3, srv: s.shared},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := client(t, s.addr, tc.user, tc.pass, func(o *redis.Options) { o.Protocol = tc.proto })
			key := "k:" + strings.ReplaceAll(tc.desc, " ", "_")
			if err := c.Set(ctx, key, "v1", 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if got, err := c.Get(ctx, key).Result(); err != nil || got != "v1" {
				t.Fatalf("GET = %q, %v", got, err)
			}
			// The write landed in the tenant's DB on the right server.
			if got := tc.srv.Do(t, "SELECT", fmt.Sprint(tc.db)); got != "+OK" {
				t.Fatalf("select: %s", got)
			}
			direct := redis.NewClient(&redis.Options{Addr: tc.srv.Addr, DB: tc.db})
			defer direct.Close()
			if got, _ := direct.Get(ctx, key).Result(); got != "v1" {
				t.Fatalf("direct GET in db %d = %q", tc.db, got)
			}

			// A 10,000-command pipeline comes back complete and in order.
			pipe := c.Pipeline()
			for i := 0; i < 10000; i++ {
				if i%2 == 0 {
					pipe.Set(ctx, fmt.Sprintf("p:%d", i), i, 0)
				} else {
					pipe.Get(ctx, fmt.Sprintf("p:%d", i-1))
				}
			}
			cmds, err := pipe.Exec(ctx)
			if err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			for i := 1; i < len(cmds); i += 2 {
				if got := cmds[i].(*redis.StringCmd).Val(); got != fmt.Sprint(i-1) {
					t.Fatalf("pipeline reply %d = %q", i, got)
				}
			}

			// MULTI/EXEC.
			res, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, key+":n")
				p.Incr(ctx, key+":n")
				return nil
			})
			if err != nil || res[1].(*redis.IntCmd).Val() != 2 {
				t.Fatalf("MULTI/EXEC: %v %v", res, err)
			}

			// A 16 MiB value both ways.
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
			if err := c.Set(ctx, key+":big", big, 0).Err(); err != nil {
				t.Fatalf("SET 16 MiB: %v", err)
			}
			got, err := c.Get(ctx, key+":big").Bytes()
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("GET 16 MiB: %d bytes, %v", len(got), err)
			}

			// BLPOP wakes up when another client pushes.
			blocked := client(t, s.addr, tc.user, tc.pass, func(o *redis.Options) { o.Protocol = tc.proto })
			done := make(chan []string, 1)
			go func() {
				v, _ := blocked.BLPop(ctx, 10*time.Second, key+":list").Result()
				done <- v
			}()
			time.Sleep(100 * time.Millisecond)
			if err := c.RPush(ctx, key+":list", "x").Err(); err != nil {
				t.Fatal(err)
			}
			select {
			case v := <-done:
				if len(v) != 2 || v[1] != "x" {
					t.Fatalf("BLPOP = %v", v)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("BLPOP did not return")
			}

			// SUBSCRIBE / PUBLISH.
			sub := client(t, s.addr, tc.user, tc.pass, func(o *redis.Options) { o.Protocol = tc.proto })
			ps := sub.Subscribe(ctx, "news")
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatalf("subscribe: %v", err)
			}
			if n, err := c.Publish(ctx, "news", "hello").Result(); err != nil || n != 1 {
				t.Fatalf("PUBLISH = %d, %v", n, err)
			}
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil || msg.Channel != "news" || msg.Payload != "hello" {
				t.Fatalf("message = %+v, %v", msg, err)
			}
		})
	}
}

func TestCoreRedisCLI(t *testing.T) {
	s := startCore(t, "")
	host, port, _ := strings.Cut(s.addr, ":")
	for _, tc := range []struct {
		desc string
		args []string
		want string
	}{
		{"pass-through set", []string{"-a", bobSecret, "SET", "cli", "1"}, "OK"},
		{"pass-through get", []string{"-a", bobSecret, "GET", "cli"}, "1"},
		{"inspected with user", []string{"--user", "alice", "--pass", aliceSecret, "INCR", "cli"}, "1"},
		{"inspected refused", []string{"-a", aliceSecret, "CONFIG", "GET", "maxmemory"}, "NOPERM"},
		{"no auth", []string{"GET", "cli"}, "NOAUTH"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			out, _ := exec.Command("redis-cli", append([]string{"-h", host, "-p", port, "--no-auth-warning"}, tc.args...)...).CombinedOutput()
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("redis-cli %v: %q, want %q", tc.args, out, tc.want)
			}
		})
	}
}

func TestCoreThousandConcurrentClients(t *testing.T) {
	s := startCore(t, "")
	ctx := context.Background()
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pass, user := bobSecret, ""
			if i%2 == 1 {
				pass, user = aliceSecret, "alice"
			}
			c := redis.NewClient(&redis.Options{Addr: s.addr, Username: user, Password: pass, PoolSize: 1,
				DialTimeout: 20 * time.Second, ReadTimeout: 20 * time.Second})
			defer c.Close()
			key := fmt.Sprintf("c:%d", i)
			if err := c.Set(ctx, key, i, 0).Err(); err != nil {
				errs <- fmt.Errorf("client %d SET: %w", i, err)
				return
			}
			if v, err := c.Get(ctx, key).Int(); err != nil || v != i {
				errs <- fmt.Errorf("client %d GET = %d, %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCoreTLSListenerAndUpstreamAndMTLS(t *testing.T) {
	ca := newTestCA(t)
	srvCert := ca.issue("server", true, "localhost")
	upCert := ca.issue("upstream", true, "localhost")
	tlsRedis := redistest.StartTLS(t, upCert.CertFile, upCert.KeyFile, ca.CAFile)
	t.Setenv("DAVE_SECRET", "dave-secret-0123456789")
	plain, tlsAddr := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`
listen:
  - {address: %s}
  - address: %s
    tls: {cert_file: %s, key_file: %s, client_ca_file: %s, client_auth: optional}
upstreams:
  secure:
    address: %s
    tls: {enabled: true, ca_file: %s, server_name: localhost}
tenants:
  - {name: dave, secret_env: DAVE_SECRET, upstream: secure, role: full}
  - {name: erin, upstream: secure_ins, db: 2, role: readwrite}
`, plain, tlsAddr, srvCert.CertFile, srvCert.KeyFile, ca.CAFile, tlsRedis.TLSAddr, ca.CAFile)
	cfg = strings.Replace(cfg, "upstreams:\n", fmt.Sprintf("upstreams:\n  secure_ins:\n    address: %s\n    tls: {enabled: true, ca_file: %s}\n", strings.Replace(tlsRedis.TLSAddr, "127.0.0.1", "localhost", 1), ca.CAFile), 1)
	startGateway(t, cfg, plain, tlsAddr)
	ctx := context.Background()
	clientTLS := &tls.Config{RootCAs: ca.Pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}

	for _, tc := range []struct {
		desc string
		opt  func(*redis.Options)
	}{
		{"plain client, TLS upstream", func(o *redis.Options) { o.Addr, o.Password = plain, "dave-secret-0123456789" }},
		{"TLS client, TLS upstream", func(o *redis.Options) {
			o.Addr, o.Password, o.TLSConfig = tlsAddr, "dave-secret-0123456789", clientTLS
		}},
		{"mTLS client named by CN, no AUTH", func(o *redis.Options) {
			c := clientTLS.Clone()
			c.Certificates = []tls.Certificate{ca.issue("erin", false, "erin").TLS}
			o.Addr, o.TLSConfig = tlsAddr, c
		}},
		{"mTLS client named by URI SAN, no AUTH", func(o *redis.Options) {
			c := clientTLS.Clone()
			c.Certificates = []tls.Certificate{ca.issue("erin-uri", false, "someone", "redoubt://tenant/erin").TLS}
			o.Addr, o.TLSConfig = tlsAddr, c
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := client(t, "", "", "", tc.opt)
			if err := c.Set(ctx, "tls", "yes", 0).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if v, err := c.Get(ctx, "tls").Result(); err != nil || v != "yes" {
				t.Fatalf("GET = %q, %v", v, err)
			}
		})
	}

	t.Run("mTLS certificate naming no tenant is refused", func(t *testing.T) {
		c := clientTLS.Clone()
		c.Certificates = []tls.Certificate{ca.issue("nobody", false, "nobody").TLS}
		rc := client(t, tlsAddr, "", "", func(o *redis.Options) { o.TLSConfig = c; o.MaxRetries = -1 })
		if err := rc.Ping(ctx).Err(); err == nil {
			t.Fatal("PING with an unknown certificate succeeded")
		}
	})
	t.Run("mTLS tenant cannot AUTH as another tenant", func(t *testing.T) {
		c := clientTLS.Clone()
		c.Certificates = []tls.Certificate{ca.issue("erin2", false, "erin").TLS}
		rc := client(t, tlsAddr, "dave", "dave-secret-0123456789", func(o *redis.Options) { o.TLSConfig = c; o.MaxRetries = -1 })
		if err := rc.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Fatalf("PING = %v, want WRONGPASS", err)
		}
	})
}
