package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Every bad input ends in a Redis-style error or a clean close, and other
// sessions keep working.
func TestBadInput(t *testing.T) {
	s := startCore(t, "limits: {auth_timeout: 2s}\n")
	ctx := context.Background()
	// A session that must survive everything below.
	survivor := client(t, s.addr, "", aliceSecret, nil)
	if err := survivor.Set(ctx, "survivor", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	auth := fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(aliceSecret), aliceSecret)
	for _, tc := range []struct {
		desc   string
		send   string
		want   string
		closed bool
	}{
		{desc: "garbage before login", send: "*abc\r\n", want: "-ERR Protocol error: invalid multibulk length\r\n", closed: true},
		{desc: "binary garbage", send: "*1\r\n\xff\xfe\r\n", want: "-ERR Protocol error: expected '$', got '\xff'\r\n", closed: true},
		// redis ignores a negative multibulk count; the command after it runs.
		{desc: "*-5 is ignored like redis", send: "*-5\r\nPING\r\n", want: "-NOAUTH Authentication required.\r\n"},
		// Like redis-server, the proto-max-bulk-len check comes before the unauthenticated cap.
		{desc: "huge bulk length before login", send: "*1\r\n$99999999999\r\n", want: "-ERR Protocol error: invalid bulk length\r\n", closed: true},
		{desc: "bulk over the unauthenticated cap", send: "*1\r\n$16385\r\n", want: "-ERR Protocol error: unauthenticated bulk length\r\n", closed: true},
		{desc: "huge bulk length after login", send: auth + "*1\r\n$99999999999\r\n", want: "+OK\r\n-ERR Protocol error: invalid bulk length\r\n", closed: true},
		{desc: "too many args before login", send: "*11\r\n", want: "-ERR Protocol error: unauthenticated multibulk length\r\n", closed: true},
		{desc: "oversized inline command", send: strings.Repeat("a", 70*1024), want: "-ERR Protocol error: too big inline request\r\n", closed: true},
		{desc: "command before AUTH", send: "GET x\r\n*1\r\n$4\r\nPING\r\n", want: "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"},
		{desc: "HELLO 3 without AUTH before login", send: "HELLO 3\r\n", want: "-NOAUTH HELLO must be called"},
		{desc: "wrong secret", send: "AUTH nope\r\n", want: "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{desc: "wrong tenant secret", send: "AUTH alice nope\r\n", want: "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{desc: "AUTH arity", send: "AUTH a b c\r\n", want: "-ERR syntax error\r\n"},
		{desc: "4 wrong AUTHs: closed after the third", send: strings.Repeat("AUTH nope\r\n", 4),
			want: strings.Repeat("-WRONGPASS invalid username-password pair or user is disabled.\r\n", 3), closed: true},
		{desc: "AUTH plus commands in one write", send: auth + "*3\r\n$3\r\nSET\r\n$2\r\npk\r\n$1\r\n7\r\n*2\r\n$3\r\nGET\r\n$2\r\npk\r\nPING\r\n",
			want: "+OK\r\n+OK\r\n$1\r\n7\r\n+PONG\r\n"},
		{desc: "QUIT before login", send: "QUIT\r\n", want: "+OK\r\n", closed: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.send(tc.send)
			if strings.HasSuffix(tc.want, "\r\n") {
				c.expect(tc.want)
			} else {
				c.expectPrefix(tc.want)
			}
			if tc.closed {
				c.expectClosed()
			}
		})
	}
	t.Run("login timeout", func(t *testing.T) {
		c := dialRaw(t, s.addr)
		c.send("PING\r\n")
		c.expect("-NOAUTH Authentication required.\r\n")
		c.expect("-ERR authentication timeout\r\n")
		c.expectClosed()
	})
	t.Run("client gone mid-pipeline", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(auth)
			for j := 0; j < 2000; j++ {
				b.WriteString("*2\r\n$3\r\nGET\r\n$8\r\nsurvivor\r\n")
			}
			b.WriteString("*3\r\n$3\r\nSET\r\n$1\r\nx") // cut mid-command
			c.Write([]byte(b.String()))
			c.Close()
		}
	})
	if v, err := survivor.Get(ctx, "survivor").Result(); err != nil || v != "1" {
		t.Fatalf("surviving session: %q, %v", v, err)
	}
	if !strings.Contains(s.gw.Log.String(), "auth_fail") {
		t.Error("failed logins were not logged")
	}
	for _, secret := range []string{aliceSecret, bobSecret, carolSecret} {
		if strings.Contains(s.gw.Log.String(), secret) {
			t.Fatalf("a secret appears in the log")
		}
	}
}

func (r *rawConn) expectPrefix(prefix string) {
	r.t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 0, 256)
	buf := make([]byte, 4096)
	for len(got) < len(prefix) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.HasPrefix(string(got), prefix) {
		r.t.Fatalf("got %q, want prefix %q", got, prefix)
	}
}

func TestUpstreamFailures(t *testing.T) {
	t.Setenv("BOB_SECRET", bobSecret)
	t.Setenv("ALICE_SECRET", aliceSecret)
	alive := redistest.Start(t)
	dying := redistest.Start(t)
	dying2 := redistest.Start(t)
	t.Setenv("CAROL_SECRET", carolSecret)
	dead := freeAddr(t) // nothing listens here
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  alive: {address: %s}
  dying: {address: %s}
  dying2: {address: %s}
  dead: {address: %s, dial_timeout: 1s}
tenants:
  - {name: alice, secret_env: ALICE_SECRET, upstream: alive, role: full}
  - {name: bob, secret_env: BOB_SECRET, upstream: dying, role: full}
  - {name: carol, secret_env: CAROL_SECRET, upstream: dying2, db: 1, role: readwrite}
  - {name: zed, secret_sha256: %s, upstream: dead, role: full}
`, addr, alive.Addr, dying.Addr, dying2.Addr, dead, sha256hex("zed-secret-0123456789")), addr)
	ctx := context.Background()
	other := client(t, addr, "", aliceSecret, nil)
	if err := other.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	t.Run("upstream down", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send("AUTH zed-secret-0123456789\r\n")
		c.expect("-ERR upstream unavailable\r\n")
		c.expectClosed()
		if !strings.Contains(g.Log.String(), "upstream unavailable") || !strings.Contains(g.Log.String(), "connection refused") {
			t.Fatalf("the log does not say why:\n%s", g.Log.String())
		}
	})
	for _, tc := range []struct {
		desc, secret string
		srv          *redistest.Server
	}{
		{"pass-through upstream killed mid-stream", bobSecret, dying},
		{"inspected upstream killed mid-stream", carolSecret, dying2},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := client(t, addr, "", tc.secret, func(o *redis.Options) { o.MaxRetries = -1 })
			if err := c.Set(ctx, "a", "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			blocked := make(chan error, 1)
			go func() { blocked <- c.BLPop(ctx, 30*time.Second, "never").Err() }()
			time.Sleep(100 * time.Millisecond)
			tc.srv.Stop()
			select {
			case err := <-blocked:
				if err == nil {
					t.Fatal("BLPOP succeeded against a dead upstream")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("client hangs after its upstream died")
			}
		})
	}
	if err := other.Ping(ctx).Err(); err != nil {
		t.Fatalf("unrelated session broke: %v", err)
	}
}

// limits.preauth_max_args / preauth_max_bulk replace redis-server's caps
// (10 arguments, 16 KiB) before login, lowered or raised.
func TestPreAuthLimitsAreConfigurable(t *testing.T) {
	for _, tc := range []struct {
		desc, limits, send, want string
		closed                   bool
	}{
		{desc: "lowered argument cap", limits: "{preauth_max_args: 3}", send: "*4\r\n",
			want: "-ERR Protocol error: unauthenticated multibulk length\r\n", closed: true},
		{desc: "lowered bulk cap", limits: "{preauth_max_bulk: 100}", send: "*2\r\n$4\r\nAUTH\r\n$101\r\n",
			want: "-ERR Protocol error: unauthenticated bulk length\r\n", closed: true},
		// A 20,000-byte credential is a protocol error under the default
		// cap; with the cap raised it is simply a wrong secret.
		{desc: "raised bulk cap", limits: "{preauth_max_bulk: 20000}",
			send: "*2\r\n$4\r\nAUTH\r\n$20000\r\n" + strings.Repeat("x", 20000) + "\r\n",
			want: "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{desc: "default bulk cap", limits: "{}",
			send: "*2\r\n$4\r\nAUTH\r\n$20000\r\n" + strings.Repeat("x", 20000) + "\r\n",
			want: "-ERR Protocol error: unauthenticated bulk length\r\n", closed: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			s := startCore(t, "limits: "+tc.limits+"\n")
			c := dialRaw(t, s.addr)
			c.send(tc.send)
			c.expect(tc.want)
			if tc.closed {
				c.expectClosed()
			}
		})
	}
}
