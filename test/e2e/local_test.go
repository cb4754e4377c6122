package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/cli"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// redoubt local: a laptop companion that logs every local connection in to
// a remote redoubt over TLS, so a client with no password just works.
func TestLocalCompanion(t *testing.T) {
	ca := newTestCA(t)
	srvCert := ca.issue("server", true, "localhost")
	up := redistest.Start(t)
	t.Setenv("DEV_SECRET", "dev-secret-0123456789")
	tlsAddr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listen:
  - address: %s
    tls: {cert_file: %s, key_file: %s}
upstreams: {main: {address: %s}}
tenants: [{name: dev, secret_env: DEV_SECRET, upstream: main, db: 2, role: readwrite}]
`, tlsAddr, srvCert.CertFile, srvCert.KeyFile, up.Addr), tlsAddr)

	run := func(t *testing.T, token string) string {
		local := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		var out syncBuffer
		go func() {
			done <- cli.Run(ctx, []string{"local", "--remote", tlsAddr, "--token", token, "--listen", local,
				"--ca", ca.CAFile, "--server-name", "localhost"}, &out, &out)
		}()
		t.Cleanup(func() { cancel(); <-done })
		waitFor(t, 5*time.Second, "redoubt local to listen", func() bool {
			c, err := net.Dial("tcp", local)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return local
	}

	t.Run("a client without a password goes through", func(t *testing.T) {
		local := run(t, "dev-secret-0123456789")
		c := client(t, local, "", "", func(o *redis.Options) { o.Protocol = 2 })
		ctx := context.Background()
		if err := c.Set(ctx, "via-local", "yes", 0).Err(); err != nil {
			t.Fatalf("SET through redoubt local: %v", err)
		}
		direct := redis.NewClient(&redis.Options{Addr: up.Addr, DB: 2})
		defer direct.Close()
		if v, _ := direct.Get(ctx, "via-local").Result(); v != "yes" {
			t.Fatalf("the write did not land in the tenant's DB: %q", v)
		}
	})
	t.Run("a wrong token is reported to the client", func(t *testing.T) {
		local := run(t, "not-the-token")
		c := dialRaw(t, local)
		c.send("PING\r\n")
		c.expectPrefix("-WRONGPASS")
	})
}

// Half-close in either direction ends a pass-through session cleanly: the
// client's FIN is passed on, the upstream still answers what it got, then
// everything closes.
func TestPassThroughHalfClose(t *testing.T) {
	s := startCore(t, "")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "AUTH %s\r\n", bobSecret)
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "INCR hc\r\n")
	}
	c.Write([]byte(b.String()))
	c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(c) // returns at EOF: the gateway closed after the replies
	if err != nil {
		t.Fatalf("read until close: %v (got %d bytes)\n%s", err, len(all), s.gw.Log.String())
	}
	if !strings.HasPrefix(string(all), "+OK\r\n:1\r\n") || !strings.HasSuffix(string(all), ":100\r\n") {
		t.Fatalf("replies before close: %q", all)
	}
	waitFor(t, 5*time.Second, "the session's disconnect event", func() bool {
		log := s.gw.Log.String()
		return strings.Contains(log, "msg=disconnect") && strings.Contains(log, "tenant=bob")
	})
}
