package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// fairEnv is one redis-server shared by tenants with and without limits.
type fairEnv struct {
	srv                  *redistest.Server
	addr, tlsAddr, admin string
	ca                   *testCA
	gw                   *Gateway
	cfg                  string
}

const fairSecret = "fair-share-test-secret-0123456789"

// noisyOps is the noisy tenant's max_ops_per_second.
const noisyOps = 500

func startFairEnv(t *testing.T) *fairEnv {
	t.Helper()
	t.Setenv("FAIR_SECRET", fairSecret)
	e := &fairEnv{srv: redistest.Start(t, "--enable-debug-command", "yes"), addr: freeAddr(t), tlsAddr: freeAddr(t), admin: freeAddr(t), ca: newTestCA(t)}
	cert := e.ca.issue("server", true, "localhost")
	cfg := fmt.Sprintf(`
listen: [{address: %s}, {address: %s, tls: {cert_file: %s, key_file: %s}}]
admin: {address: %s}
limits: {shutdown_grace: 2s, quota_interval: 50ms, throttle_max_delay: 200ms}
upstreams:
  shared: {address: %s}
tenants:
  - {name: noisy, secret_env: FAIR_SECRET, upstream: shared, db: 1, max_ops_per_second: %d}
  - {name: quiet, secret_env: FAIR_SECRET, upstream: shared, db: 2}
  - {name: limited, secret_env: FAIR_SECRET, upstream: shared, db: 3, max_request_bytes: 4194304, max_value_bytes: 1048576, max_offset: 1048576}
  - {name: free, secret_env: FAIR_SECRET, upstream: shared, db: 4}
  - {name: capped, secret_env: FAIR_SECRET, upstream: shared, db: 5, max_keys: 10}
  - {name: lister, secret_env: FAIR_SECRET, upstream: shared, db: 6, commands: "+keys"}
  - {name: unlimited, secret_env: FAIR_SECRET, upstream: shared, db: 7}
`, e.addr, e.tlsAddr, cert.CertFile, cert.KeyFile, e.admin, e.srv.Addr, noisyOps)
	e.gw, e.cfg = startGateway(t, cfg, e.addr, e.tlsAddr, e.admin), cfg
	return e
}

func (e *fairEnv) client(t testing.TB, tenant string) *redis.Client {
	return e.clientAt(t, e.addr, nil, tenant)
}

// clientAt is a client of tenant on one of the gateway's listeners.
func (e *fairEnv) clientAt(t testing.TB, addr string, tc *tls.Config, tenant string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tc, Username: tenant, Password: fairSecret, Protocol: 2,
		DisableIdentity: true, DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		PoolSize: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *fairEnv) metrics(t testing.TB) string {
	resp, err := http.Get("http://" + e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// p99 of one client's unpipelined GETs, measured by that client.
func p99(t *testing.T, c *redis.Client, n int) time.Duration {
	ctx := context.Background()
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := c.Get(ctx, "k").Err(); err != nil && err != redis.Nil {
			t.Fatalf("quiet GET: %v", err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat[n*99/100]
}

func TestFairShareNoisyNeighbour(t *testing.T) {
	e := startFairEnv(t)
	ctx := context.Background()
	quiet := e.client(t, "quiet")
	mustOK(t, quiet.Set(ctx, "k", "v", 0).Err())
	p99(t, quiet, 200) // warm up
	alone := p99(t, quiet, 2000)

	// The noisy tenant floods from four unpipelined and two pipelined
	// connections, far over its 500 ops/s, while the quiet one measures.
	var flooded time.Duration
	f := e.flood(t, e.addr, nil, func() { flooded = p99(t, quiet, 2000) })
	rate, refused, outOfOrder := f.rate, f.refused, f.outOfOrder
	// For comparison only (not asserted): the same flood from a tenant
	// without limits.
	var unlimited time.Duration
	u := e.floodAs(t, "unlimited", e.addr, nil, func() { unlimited = p99(t, quiet, 2000) })
	t.Logf("quiet tenant p99 alone %v, while noisy floods %v; noisy ran %.0f ops/s (limit %d), %d refused; "+
		"the same flood without limits: quiet p99 %v, flooder %.0f ops/s",
		alone, flooded, rate, noisyOps, refused, unlimited, u.rate)
	if outOfOrder > 0 {
		t.Fatalf("%d pipelined replies out of order", outOfOrder)
	}
	if rate > noisyOps*1.3 {
		t.Errorf("noisy tenant ran %.0f ops/s, over its limit of %d", rate, noisyOps)
	}
	// Generous: scheduling on a loaded 2-core machine varies far more than
	// the proxy's share; a noisy tenant left unlimited takes whatever it can.
	if bound := 10*alone + 20*time.Millisecond; flooded > bound {
		t.Errorf("quiet tenant's p99 %v while flooded, over the bound %v (10x alone + 20ms)", flooded, bound)
	}
	m := e.metrics(t)
	for _, want := range []string{`redoubt_tenant_throttled_commands_total{tenant="noisy"}`, `redoubt_tenant_refused_commands_total{reason="rate",tenant="noisy"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// rawCommand sends one pre-built command as tenant on a fresh connection
// and returns the first line of its reply. Raw bytes keep the 100 MB and
// 1M-element commands cheap to build.
func (e *fairEnv) rawCommand(t *testing.T, tenant string, cmd []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(c)
	auth := fmt.Sprintf("*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(tenant), tenant, len(fairSecret), fairSecret)
	if _, err := c.Write([]byte(auth)); err != nil {
		t.Fatal(err)
	}
	if line, _ := br.ReadString('\n'); line != "+OK\r\n" {
		t.Fatalf("AUTH %s: %q", tenant, line)
	}
	if _, err := c.Write(cmd); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	// The session goes on after a refusal.
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	if pong, _ := br.ReadString('\n'); pong != "+PONG\r\n" {
		t.Fatalf("PING after %q: %q", line, pong)
	}
	return strings.TrimRight(line, "\r\n")
}

// floodResult is what the noisy tenant got done during the measurement.
type floodResult struct {
	rate                float64 // commands per second that succeeded
	refused, outOfOrder int64
}

// flood runs the noisy tenant's flood on addr (four unpipelined and two
// pipelined connections) around during().
func (e *fairEnv) flood(t *testing.T, addr string, tc *tls.Config, during func()) floodResult {
	return e.floodAs(t, "noisy", addr, tc, during)
}

func (e *fairEnv) floodAs(t *testing.T, tenant, addr string, tc *tls.Config, during func()) floodResult {
	ctx := context.Background()
	var ok, refused, outOfOrder atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		c := e.clientAt(t, addr, tc, tenant)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if i < 4 {
					err := c.Incr(ctx, "n").Err()
					switch {
					case err == nil:
						ok.Add(1)
					case strings.Contains(err.Error(), "rate limit"):
						refused.Add(1)
					default:
						t.Errorf("noisy INCR: %v", err)
						return
					}
					continue
				}
				// Pipelined: every reply must be its own command's (ECHO i)
				// or the rate-limit error in that command's place.
				p := c.Pipeline()
				cmds := make([]*redis.StringCmd, 50)
				for j := range cmds {
					cmds[j] = p.Echo(ctx, strconv.Itoa(n*100+j))
				}
				_, _ = p.Exec(ctx)
				for j, cmd := range cmds {
					v, err := cmd.Result()
					switch {
					case err == nil && v == strconv.Itoa(n*100+j):
						ok.Add(1)
					case err != nil && strings.Contains(err.Error(), "rate limit"):
						refused.Add(1)
					default:
						outOfOrder.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // let the flood reach its steady state
	okBefore := ok.Load()
	start := time.Now()
	during()
	window := time.Since(start)
	okDuring := ok.Load() - okBefore
	close(stop)
	wg.Wait()

	return floodResult{rate: float64(okDuring) / window.Seconds(), refused: refused.Load(), outOfOrder: outOfOrder.Load()}
}

// TestFairShareRateOverTLS: TLS sessions run on goroutines, where a
// session over its rate sleeps instead of being parked by the event loop.
func TestFairShareRateOverTLS(t *testing.T) {
	e := startFairEnv(t)
	tc := &tls.Config{RootCAs: e.ca.Pool, ServerName: "localhost"}
	f := e.flood(t, e.tlsAddr, tc, func() { time.Sleep(time.Second) })
	t.Logf("noisy over TLS ran %.0f ops/s (limit %d), %d refused", f.rate, noisyOps, f.refused)
	if f.outOfOrder > 0 {
		t.Fatalf("%d pipelined replies out of order", f.outOfOrder)
	}
	if f.rate > noisyOps*1.3 {
		t.Errorf("noisy tenant ran %.0f ops/s over TLS, over its limit of %d", f.rate, noisyOps)
	}
	if f.rate < noisyOps/4 {
		t.Errorf("noisy tenant ran only %.0f ops/s over TLS: throttled far below its limit of %d", f.rate, noisyOps)
	}
}

func TestFairShareSizeLimits(t *testing.T) {
	e := startFairEnv(t)
	cmd := func(args ...string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		return b.Bytes()
	}
	var rpush bytes.Buffer
	rpush.WriteString("*1000002\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n")
	rpush.Write(bytes.Repeat([]byte("$1\r\ne\r\n"), 1_000_000))
	tests := []struct {
		desc, want, freeReply string
		cmd                   []byte
	}{
		{"SETRANGE with a 100 MB offset", "max_offset", ":104857601", cmd("SETRANGE", "r", strconv.Itoa(100<<20), "x")},
		{"SETBIT far out", "max_offset", ":0", cmd("SETBIT", "b", strconv.Itoa(8*(100<<20)), "1")},
		{"a 100 MB SET", "max_request_bytes", "+OK", cmd("SET", "big", strings.Repeat("x", 100<<20))},
		{"RPUSH of 1M elements", "max_request_bytes", ":1000000", rpush.Bytes()},
		{"a 2 MB value in a small request", "max_value_bytes", ":1", cmd("HSET", "h", "f", strings.Repeat("v", 2<<20))},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			start := time.Now()
			got := e.rawCommand(t, "limited", tc.cmd)
			t.Logf("limited: %q in %v", got, time.Since(start))
			if !strings.HasPrefix(got, "-ERR redoubt: ") || !strings.Contains(got, tc.want) {
				t.Fatalf("limited tenant: got %q, want a refusal naming %s", got, tc.want)
			}
			if got := e.rawCommand(t, "free", tc.cmd); got != tc.freeReply {
				t.Fatalf("unlimited tenant: got %q, want %q", got, tc.freeReply)
			}
		})
	}
	// Nothing of the refused commands reached the limited tenant's DB.
	if n := e.srv.Do(t, "DBSIZE"); n != ":0" {
		t.Errorf("DB 0 (unused) has %s keys", n)
	}
	limited := e.client(t, "limited")
	if n := limited.DBSize(context.Background()).Val(); n != 0 {
		t.Errorf("limited tenant's DB has %d keys", n)
	}
	e.client(t, "free").Del(context.Background(), "r", "b", "big", "l", "h")

	// Limits reload: lifting max_value_bytes lets the same live session
	// write the value it was refused.
	ctx := context.Background()
	v := strings.Repeat("v", 2<<20)
	if err := limited.HSet(ctx, "h", "f", v).Err(); err == nil || !strings.Contains(err.Error(), "max_value_bytes") {
		t.Fatalf("before the reload: %v", err)
	}
	e.gw.Rewrite(t, strings.Replace(e.cfg, "max_value_bytes: 1048576", "max_value_bytes: 0", 1))
	waitFor(t, 10*time.Second, "the reloaded limit to apply to a live session", func() bool {
		return limited.HSet(ctx, "h", "f", v).Err() == nil
	})
}

func TestFairShareQuota(t *testing.T) {
	e := startFairEnv(t)
	ctx := context.Background()
	c := e.client(t, "capped")
	var oomAt int
	waitFor(t, 10*time.Second, "writes refused over max_keys", func() bool {
		err := c.Set(ctx, "k"+strconv.Itoa(oomAt), "v", 0).Err()
		if err != nil && strings.HasPrefix(err.Error(), "OOM ") && strings.Contains(err.Error(), "max_keys") {
			return true
		}
		mustOK(t, err)
		oomAt++
		time.Sleep(5 * time.Millisecond)
		return false
	})
	t.Logf("first -OOM after %d keys (max_keys 10, quota_interval 50ms)", oomAt)
	if oomAt < 10 {
		t.Fatalf("refused at %d keys, under the quota of 10", oomAt)
	}
	// Reads and deletes still work over quota.
	if v, err := c.Get(ctx, "k0").Result(); err != nil || v != "v" {
		t.Fatalf("GET over quota: %q %v", v, err)
	}
	for i := range oomAt {
		mustOK(t, c.Del(ctx, "k"+strconv.Itoa(i)).Err())
	}
	waitFor(t, 10*time.Second, "writes accepted again after deleting", func() bool {
		return c.Set(ctx, "again", "v", 0).Err() == nil
	})
	m := e.metrics(t)
	for _, want := range []string{`redoubt_tenant_refused_commands_total{reason="max_keys",tenant="capped"}`, `redoubt_tenant_quota_keys{tenant="capped"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestFairSharePausedPipelineThenQuit: a pipeline far over the rate,
// ended by QUIT and a half-close, is answered in full and in order while
// the session is held back, on the event loop (plain) and on goroutines
// (TLS).
func TestFairSharePausedPipelineThenQuit(t *testing.T) {
	e := startFairEnv(t)
	const n = 300 // 50 go at once (the burst), the rest at 500/s: about 0.5 s
	var req bytes.Buffer
	fmt.Fprintf(&req, "*3\r\n$4\r\nAUTH\r\n$5\r\nnoisy\r\n$%d\r\n%s\r\n", len(fairSecret), fairSecret)
	for range n {
		req.WriteString("*2\r\n$4\r\nINCR\r\n$1\r\nq\r\n")
	}
	req.WriteString("*1\r\n$4\r\nQUIT\r\n")
	for _, tc := range []struct {
		desc string
		dial func() (net.Conn, error)
	}{
		{"plain", func() (net.Conn, error) { return net.Dial("tcp", e.addr) }},
		{"tls", func() (net.Conn, error) {
			return tls.Dial("tcp", e.tlsAddr, &tls.Config{RootCAs: e.ca.Pool, ServerName: "localhost"})
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c, err := tc.dial()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			start := time.Now()
			if _, err := c.Write(req.Bytes()); err != nil {
				t.Fatal(err)
			}
			if tcp, ok := c.(*net.TCPConn); ok {
				_ = tcp.CloseWrite()
			}
			br := bufio.NewReader(c)
			if line, _ := br.ReadString('\n'); line != "+OK\r\n" {
				t.Fatalf("AUTH: %q", line)
			}
			var first int
			for i := range n {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				v, err := strconv.Atoi(strings.TrimPrefix(strings.TrimRight(line, "\r\n"), ":"))
				if err != nil || line[0] != ':' {
					t.Fatalf("reply %d: %q", i, line)
				}
				if i == 0 {
					first = v
				} else if v != first+i {
					t.Fatalf("reply %d is %d after %d: out of order", i, v, first)
				}
			}
			if line, _ := br.ReadString('\n'); line != "+OK\r\n" {
				t.Fatalf("QUIT: %q", line)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after QUIT: %v, want EOF", err)
			}
			took := time.Since(start)
			t.Logf("%d commands at %d/s in %v", n, noisyOps, took)
			if took < 300*time.Millisecond {
				t.Errorf("%d commands over a %d/s limit took only %v", n, noisyOps, took)
			}
		})
	}
}

// TestFairShareKeysAsScan: KEYS through the relay is answered by a SCAN
// iteration: the same keys as the server's own KEYS, replies in order
// around it, and the server's stall for other clients measured both ways.
func TestFairShareKeysAsScan(t *testing.T) {
	e := startFairEnv(t)
	ctx := context.Background()
	direct := redis.NewClient(&redis.Options{Addr: e.srv.Addr, DB: 6, Protocol: 2, DisableIdentity: true, ReadTimeout: time.Minute})
	defer direct.Close()
	const n = 300_000
	mustOK(t, direct.Do(ctx, "DEBUG", "POPULATE", n, "key").Err())
	mustOK(t, direct.Set(ctx, "other:1", "x", 0).Err())
	lister := e.client(t, "lister")

	// KEYS * both ways, while another client of the server measures its
	// worst PING: the server's stall with and without redoubt's iteration.
	other := redis.NewClient(&redis.Options{Addr: e.srv.Addr, Protocol: 2, DisableIdentity: true})
	defer other.Close()
	worst := func(fn func()) time.Duration {
		var w atomic.Int64
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := time.Now()
				other.Ping(ctx)
				if d := int64(time.Since(s)); d > w.Load() {
					w.Store(d)
				}
			}
		}()
		time.Sleep(20 * time.Millisecond)
		fn()
		close(stop)
		<-done
		return time.Duration(w.Load())
	}
	var want, got []string
	viaServer := worst(func() { want = direct.Keys(ctx, "*").Val() })
	viaRedoubt := worst(func() { got = lister.Keys(ctx, "*").Val() })
	t.Logf("KEYS * over %d keys: another client's worst PING %v with the server's KEYS, %v with redoubt's SCAN iteration", n, viaServer, viaRedoubt)
	check := func(what string, got, want []string) {
		t.Helper()
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Fatalf("%s: %d keys through redoubt, %d from the server", what, len(got), len(want))
		}
	}
	check("KEYS *", got, want)
	for _, pattern := range []string{"key:1234*", "other:*"} {
		check("KEYS "+pattern, lister.Keys(ctx, pattern).Val(), direct.Keys(ctx, pattern).Val())
	}
	if got := lister.Keys(ctx, "nomatch*"); got.Err() != nil || len(got.Val()) != 0 {
		t.Fatalf("KEYS nomatch*: %v", got)
	}

	// Over TLS the relay runs on goroutines: the same answer.
	overTLS := e.clientAt(t, e.tlsAddr, &tls.Config{RootCAs: e.ca.Pool, ServerName: "localhost"}, "lister")
	check("KEYS over TLS", overTLS.Keys(ctx, "key:99*").Val(), direct.Keys(ctx, "key:99*").Val())

	// In a pipeline, the reply keeps its place.
	p := lister.Pipeline()
	set := p.Set(ctx, "other:2", "y", 0)
	keys := p.Keys(ctx, "other:*")
	get := p.Get(ctx, "other:2")
	_, err := p.Exec(ctx)
	mustOK(t, err)
	if set.Val() != "OK" || len(keys.Val()) != 2 || get.Val() != "y" {
		t.Fatalf("pipeline: %v %v %v", set, keys, get)
	}
}
