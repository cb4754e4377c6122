package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Scaled-down versions of the memory reproductions (the full ones, with
// the gateway's RSS, are in scripts/memory-repro.sh): a client that does
// not read what it is owed is no longer read, and a request too large for
// the session or the process gets an error, while another tenant goes on.

// memEnv is a redis-server shared by alice (DB 3) and carol (DB 4), behind
// a gateway with small request memory limits.
type memEnv struct {
	srv     *redistest.Server
	addr    string
	tlsAddr string // the same behind TLS: sessions on the goroutine relay
	ca      *testCA
	gw      *Gateway
}

const (
	memBudget     = 24 << 20 // limits.request_memory_budget
	memQueryLimit = 20 << 20 // limits.client_query_buffer_limit
)

func startMemEnv(t *testing.T) *memEnv {
	t.Helper()
	t.Setenv("MEM_ALICE", "alice-mem-secret-0123456789")
	t.Setenv("MEM_CAROL", "carol-mem-secret-0123456789")
	t.Setenv("MEM_REDIS_PW", isoRedisPass)
	e := &memEnv{srv: redistest.Start(t, "--requirepass", isoRedisPass), addr: freeAddr(t), tlsAddr: freeAddr(t), ca: newTestCA(t)}
	cert := e.ca.issue("server", true, "localhost")
	e.gw = startGateway(t, fmt.Sprintf(`
listen: [{address: %s}, {address: %s, tls: {cert_file: %s, key_file: %s}}]
limits: {request_memory_budget: %d, client_query_buffer_limit: %d, shutdown_grace: 2s}
upstreams:
  shared: {address: %s, auth: {mode: password, password_env: MEM_REDIS_PW}}
tenants:
  - {name: alice, secret_env: MEM_ALICE, upstream: shared, db: 3, role: readwrite}
  - {name: carol, secret_env: MEM_CAROL, upstream: shared, db: 4, role: readwrite}
`, e.addr, e.tlsAddr, cert.CertFile, cert.KeyFile, memBudget, memQueryLimit, e.srv.Addr), e.addr, e.tlsAddr)
	return e
}

func (e *memEnv) dial(t *testing.T, tenant string) *isoConn {
	t.Helper()
	return e.dialVia(t, tenant, false)
}

// dialVia logs a tenant in over plain TCP (event loops) or TLS
// (goroutine relay).
func (e *memEnv) dialVia(t *testing.T, tenant string, overTLS bool) *isoConn {
	t.Helper()
	var c *isoConn
	if overTLS {
		tc, err := tls.Dial("tcp", e.tlsAddr, &tls.Config{RootCAs: e.ca.Pool, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tc.Close() })
		c = &isoConn{t: t, c: tc, br: bufio.NewReader(tc)}
	} else {
		c = isoDialRaw(t, e.addr)
	}
	isoStatus("OK").check(t, "AUTH "+tenant, c.do("AUTH", tenant, os.Getenv("MEM_"+strings.ToUpper(tenant))))
	return c
}

// neighbourWorks checks that carol's session still answers.
func neighbourWorks(t *testing.T, carol *isoConn, what string) {
	t.Helper()
	isoStatus("OK").check(t, what+": carol SET", carol.do("SET", "k", "v"))
	isoBulk("v").check(t, what+": carol GET", carol.do("GET", "k"))
}

// heapInUse is the process's live heap after a collection (the gateway
// runs in this process).
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// pushUnread writes chunk repeatedly without reading any reply, until
// total bytes are written or the gateway stops taking them for a second;
// it returns how much was written.
func pushUnread(t *testing.T, c net.Conn, chunk []byte, total int) int {
	t.Helper()
	written := 0
	for written < total {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.Write(chunk)
		written += n
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return written
			}
			t.Fatalf("write: %v", err)
		}
	}
	return written
}

func TestMemoryClientThatDoesNotRead(t *testing.T) {
	e := startMemEnv(t)
	carol := e.dial(t, "carol")
	const total = 256 << 20
	for _, tc := range []struct {
		desc    string
		first   string // sent once before the flood
		chunk   string // repeated
		overTLS bool
	}{
		{desc: "pipelined PING", chunk: strings.Repeat("PING\r\n", 10000)},
		// A blocked command at the head: every later refusal is the
		// proxy's own reply, which waits for its turn.
		{desc: "BLPOP then refused SELECT 4", first: "BLPOP nothing 0\r\n", chunk: strings.Repeat("SELECT 4\r\n", 10000)},
		{desc: "pipelined PING over TLS", chunk: strings.Repeat("PING\r\n", 10000), overTLS: true},
		{desc: "BLPOP then refused SELECT 4 over TLS", first: "BLPOP nothing 0\r\n", chunk: strings.Repeat("SELECT 4\r\n", 10000), overTLS: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			before := heapInUse()
			a := e.dialVia(t, "alice", tc.overTLS)
			if tc.first != "" {
				a.writeRaw(tc.first)
			}
			written := pushUnread(t, a.c, []byte(tc.chunk), total)
			grown := int64(heapInUse()) - int64(before)
			t.Logf("wrote %d MB of %d before the gateway stopped reading; heap grew %d KB", written>>20, total>>20, grown>>10)
			// What the sockets' buffers hold, plus the bounded queue:
			// far from the whole flood.
			if written >= total/2 {
				t.Errorf("the gateway took %d MB from a client that reads nothing", written>>20)
			}
			if grown > 32<<20 {
				t.Errorf("heap grew by %d MB", grown>>20)
			}
			neighbourWorks(t, carol.with(t), tc.desc)
			a.c.Close()
		})
	}
	neighbourWorks(t, carol.with(t), "after")
}

func TestMemoryLargeRequests(t *testing.T) {
	e := startMemEnv(t)
	carol := e.dial(t, "carol")
	// partial sends all but the last byte of a SET whose value is size bytes.
	// partial sends all but the last byte of a SET whose value is size
	// bytes, and stops early if the gateway closes the connection.
	partial := func(c *isoConn, size int) {
		c.writeRaw(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n", size))
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for left := size - 1; left > 0; left -= len(chunk) {
			_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.c.Write(chunk[:min(len(chunk), left)]); err != nil {
				return
			}
		}
	}

	t.Run("over the session's limit", func(t *testing.T) {
		a := e.dial(t, "alice")
		partial(a, memQueryLimit+1<<20)
		isoError("ERR request too large: client query buffer limit").check(t, "oversized SET", a.read())
		a.expectClosed()
		neighbourWorks(t, carol.with(t), "after an oversized request")
	})

	t.Run("many arguments over the session's limit", func(t *testing.T) {
		// 6 bytes a request, about 40 of parsed arguments each.
		const n = memQueryLimit / 20
		a := e.dial(t, "alice")
		_ = a.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = a.c.Write([]byte(fmt.Sprintf("*%d\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n", n+2) + strings.Repeat("$0\r\n\r\n", n)))
		// The session limit or the budget, whichever its arrays reach first.
		isoError("ERR request too large").check(t, "RPUSH of many arguments", a.read())
		a.expectClosed()
		neighbourWorks(t, carol.with(t), "after a request of many arguments")
	})

	t.Run("over the process's budget", func(t *testing.T) {
		const size = 14 << 20 // fits one session's limit; two do not fit the budget
		first := e.dial(t, "alice")
		partial(first, size)
		second := e.dial(t, "alice")
		partial(second, size)
		isoError("ERR request too large for the gateway now").check(t, "second large SET", second.read())
		second.expectClosed()
		neighbourWorks(t, carol.with(t), "budget exhausted")
		// The first one completes, and its memory goes back to the budget.
		first.writeRaw("x\r\n")
		isoStatus("OK").check(t, "first large SET", first.read())
		third := e.dial(t, "alice")
		partial(third, size)
		third.writeRaw("x\r\n")
		isoStatus("OK").check(t, "a large SET after the first finished", third.read())
		if r := third.do("STRLEN", "big"); r.str != fmt.Sprint(size) {
			t.Fatalf("STRLEN big = %s", r)
		}
	})
}

func (c *isoConn) expectClosed() {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [512]byte
	for {
		_, err := c.br.Read(buf[:])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("connection still open")
		}
		return
	}
}

// A client that is held back is not read, so only the peer's hang-up says
// it left; behind BLPOP k 0 its replies never catch up. Its session must
// still end (after the 30 s a closing session has for its last replies),
// on both relays, and give back its upstream connection.
func TestMemoryHeldBackClientThatLeaves(t *testing.T) {
	e := startMemEnv(t)
	for _, overTLS := range []bool{false, true} {
		a := e.dialVia(t, "alice", overTLS)
		// Held back after about 40 KB of refusals; the rest still fits
		// the socket buffers, so the close reaches the gateway.
		a.writeRaw("BLPOP nothing 0\r\n" + strings.Repeat("SELECT 4\r\n", 10000))
		a.c.Close()
	}
	d := isoDialRaw(t, e.srv.Addr)
	isoStatus("OK").check(t, "direct AUTH", d.do("AUTH", isoRedisPass))
	waitFor(t, 45*time.Second, "the held-back sessions to end", func() bool {
		return !strings.Contains(d.do("CLIENT", "LIST").str, "cmd=blpop")
	})
}
