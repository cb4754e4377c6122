package e2e

// End-to-end tests of AWS IAM login to ElastiCache (issue 5, docs/aws-iam.md).
//
// No AWS endpoint is contacted: iamtest.Front stands in for ElastiCache with
// IAM authentication. It is a TLS RESP front in front of a real
// redis-server that demands AUTH <user> <token>, verifies every SigV4 token
// with the fixed fake credentials of iam_helpers_test.go, and closes a
// connection maxAge after its last good AUTH. Its maxAge of a few seconds
// stands in for AWS's 12 hours, and token_lifetime of a few seconds for the
// 15-minute token lifetime.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/awsiam/iamtest"
	"github.com/redoubt-proxy/redoubt/internal/cli"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

const (
	iamAliceSecret = "alice-iam-e2e-secret-6f1d0c2b9a"
	iamCarolSecret = "carol-iam-e2e-secret-0b7e5d3c1f"
	iamBobSecret   = "bob-iam-e2e-secret-93a8c4e27d"
)

// startIAMFront runs a redis-server behind an iamtest.Front (the stand-in
// for ElastiCache) that wants tokens for iamTestCache / iamTestUser /
// iamTestRegion with the given lifetime.
func startIAMFront(t *testing.T, cert *iamtest.Cert, lifetime, maxAge time.Duration) *iamtest.Front {
	t.Helper()
	rs := redistest.Start(t)
	want := iamtest.Expect{CacheName: iamTestCache, User: iamTestUser, Region: iamTestRegion, Lifetime: lifetime}
	return iamtest.StartFront(t, rs.Addr, cert.Server, want, iamTestCreds(), maxAge, nil)
}

// iamUpstream is an upstreams entry logging in to front with aws-iam.
// cache_name is written in mixed case: redoubt must sign it lower-cased.
func iamUpstream(name string, front *iamtest.Front, cert *iamtest.Cert, extra string) string {
	return fmt.Sprintf(`  %s:
    address: %q
    tls: {enabled: true, ca_file: %q, server_name: localhost}
    auth: {mode: aws-iam, username: %s, cache_name: Orders-Cache, region: %s%s}
`, name, front.Addr, cert.CertFile, iamTestUser, iamTestRegion, extra)
}

// iamFrontStats says what a Front saw, for failure messages.
func iamFrontStats(f *iamtest.Front) string {
	return fmt.Sprintf("accepted=%d reauths=%d rejected=%d forced_closes=%d last_rejection=%v",
		f.Accepted(), f.Reauths(), f.Rejected(), f.ForcedCloses(), f.LastRejection())
}

// iamGateway is redoubt in front of one iamtest.Front (standing in for an
// ElastiCache endpoint with IAM auth), with two tenants pinned to DBs 3
// and 4 of the shared upstream, so their sessions are inspected.
type iamGateway struct {
	front  *iamtest.Front
	listen string
	g      *Gateway
}

// startIAMGateway starts it; lifetime is the token_lifetime the Front
// expects (0: the default 15m), maxAge the Front's stand-in for AWS's 12
// hours, and authExtra more keys of the upstream's auth block.
func startIAMGateway(t *testing.T, lifetime, maxAge time.Duration, authExtra string) *iamGateway {
	t.Helper()
	cert := iamtest.SelfSigned(t)
	front := startIAMFront(t, cert, lifetime, maxAge)
	listen := freeAddr(t)
	cfg := fmt.Sprintf(`listen: [{address: %q}]
log: {level: debug}
limits: {shutdown_grace: 1s}
upstreams:
%stenants:
  - {name: alice, secret_sha256: %q, upstream: shared, db: 3, role: readwrite}
  - {name: carol, secret_sha256: %q, upstream: shared, db: 4, role: readwrite}
`, listen, iamUpstream("shared", front, cert, authExtra), sha256hex(iamAliceSecret), sha256hex(iamCarolSecret))
	return &iamGateway{front: front, listen: listen, g: startGateway(t, cfg, listen)}
}

// client is a go-redis client with ONE connection that is never silently
// replaced: no retries (a dropped connection is a failed command), and
// dials counts the TCP connections it opened (OnConnect is no use for
// this: go-redis v9.23 calls it again on a connection's first pipeline).
func (ig *iamGateway) client(t *testing.T, user, pass string, proto int, dials *atomic.Int64) *redis.Client {
	rdb := redis.NewClient(&redis.Options{
		Addr: ig.listen, Username: user, Password: pass, Protocol: proto,
		PoolSize: 1, MinIdleConns: 0, MaxRetries: -1,
		ReadTimeout: 15 * time.Second, WriteTimeout: 15 * time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials != nil {
				dials.Add(1)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestIAMInspectedSessionSurvivesExpiries: an inspected session keeps ONE
// client connection and ONE upstream connection through many token
// expiries (token_lifetime 2s) and several times the Front's forced-close
// deadline (maxAge 3s, standing in for AWS's 12 hours), with zero failed
// commands, because redoubt logs in again in place, between commands, with
// fresh tokens: in plain traffic, in long pipelines, around MULTI/EXEC, and
// while the client idles.
func TestIAMInspectedSessionSurvivesExpiries(t *testing.T) {
	isolateAWSEnv(t, true)
	const (
		tokenLifetime = 2 * time.Second // stands in for 15 minutes
		maxAge        = 3 * time.Second // stands in for 12 hours
	)
	// max_connection_age applies to pass-through sessions only: it must
	// not end this inspected one, which lives far longer.
	ig := startIAMGateway(t, tokenLifetime, maxAge, ", token_lifetime: 2s, reauth_interval: 1s, max_connection_age: 2s")
	front := ig.front
	var dials atomic.Int64
	// All traffic goes through one pinned connection of the pool: a
	// pooled client may dial a spare in the background (go-redis v9.23
	// does), which would blur "one connection".
	alice := ig.client(t, "alice", iamAliceSecret, 0, &dials)
	rdb := alice.Conn()
	ctx := context.Background()

	var commands, failures int
	var firstErr error
	fail := func(what string, err error) {
		failures++
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w (front: %s)", what, err, iamFrontStats(front))
		}
	}
	check := func(what string, err error) {
		commands++
		if err != nil {
			fail(what, err)
		}
	}
	setGet := func(i int) {
		k, v := "k"+strconv.Itoa(i%50), strconv.Itoa(i)
		check("SET", rdb.Set(ctx, k, v, 0).Err())
		got, err := rdb.Get(ctx, k).Result()
		check("GET", err)
		if err == nil && got != v {
			fail("GET", fmt.Errorf("got %q, want %q", got, v))
		}
	}
	// pipeline sends DEL and n INCRs in one go and checks every reply.
	pipeline := func(n int) {
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, "pl")
			for i := 0; i < n; i++ {
				p.Incr(ctx, "pl")
			}
			return nil
		})
		commands += len(cmds)
		if err != nil {
			fail("pipeline", err)
			return
		}
		for i, c := range cmds[1:] {
			if got := c.(*redis.IntCmd).Val(); got != int64(i+1) {
				fail("pipeline", fmt.Errorf("reply %d is %d: replies out of order", i, got))
				return
			}
		}
	}
	// multi runs MULTI SET INCR GET EXEC and checks EXEC's array.
	multi := func(i int) {
		var incr *redis.IntCmd
		var get *redis.StringCmd
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "tx", strconv.Itoa(i), 0)
			incr = p.Incr(ctx, "tx")
			get = p.Get(ctx, "tx")
			return nil
		})
		check("MULTI/EXEC", err)
		if err == nil && (incr.Val() != int64(i+1) || get.Val() != strconv.Itoa(i+1)) {
			fail("MULTI/EXEC", fmt.Errorf("EXEC gave %d, %q; want %d", incr.Val(), get.Val(), i+1))
		}
	}
	phase := func(name string) {
		t.Helper()
		if failures != 0 || front.Rejected() != 0 || front.ForcedCloses() != 0 || dials.Load() != 1 {
			t.Fatalf("%s: %d of %d commands failed; first: %v; %d client connections; front: %s; gateway log:\n%s",
				name, failures, commands, firstErr, dials.Load(), iamFrontStats(front), iamLogLines(ig.g.Log.String(), "disconnect", "session ended", "WARN", "ERROR"))
		}
	}

	// 1. Mixed traffic for three times maxAge: without in-place
	// re-logins the Front would have closed the connection three times,
	// and a token lives 2 s, so several expire meanwhile.
	end := time.Now().Add(3 * maxAge)
	for i := 0; time.Now().Before(end); i++ {
		setGet(i)
		switch {
		case i%40 == 0:
			pipeline(3000)
		case i%10 == 0:
			multi(i)
		}
	}
	phase("mixed traffic")
	if front.Reauths() < 3 {
		t.Fatalf("mixed traffic: want at least 3 in-place re-logins in %v; front: %s", 3*maxAge, iamFrontStats(front))
	}

	// 2. Re-logins injected in the middle of long pipelines: repeat
	// pipelines until the Front has counted a re-login while one was in
	// flight, twice.
	for during, deadline := 0, time.Now().Add(60*time.Second); during < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("no re-login during a pipeline in 60 s; front: %s", iamFrontStats(front))
		}
		before := front.Reauths()
		pipeline(20000)
		if front.Reauths() > before {
			during++
		}
	}
	phase("pipelines")

	// 3. Idle for longer than maxAge: only redoubt's own wake-up (the
	// client read deadline) can log in again in time; the session must
	// still be usable afterwards.
	idle := front.Reauths()
	time.Sleep(maxAge + maxAge/2)
	if front.Reauths() <= idle {
		t.Errorf("no re-login while the client idled for %v; front: %s", maxAge+maxAge/2, iamFrontStats(front))
	}
	setGet(1)
	multi(7)
	phase("after idling")

	// One upstream connection all along (phase checked the client side).
	if n := front.Accepted() - front.Reauths(); n != 1 {
		t.Errorf("%d first logins at the Front, want 1 (one upstream connection); front: %s", n, iamFrontStats(front))
	}
	// alice's writes stayed in her pinned DB: carol (db 4) sees none of them.
	crdb := ig.client(t, "carol", iamCarolSecret, 0, nil)
	if n, err := crdb.Exists(ctx, "pl", "tx", "k1").Result(); err != nil || n != 0 {
		t.Errorf("carol (db 4) sees %d of alice's keys (err %v), want 0", n, err)
	}
	t.Logf("%d commands, %s", commands, iamFrontStats(front))
	rdb.Close()
	alice.Close()
	crdb.Close()
	ig.g.Stop()
	assertNoIAMSecrets(t, "gateway log", ig.g.Log.String(), iamAliceSecret, iamCarolSecret)
}

// TestIAMTokenReuseNearExpiry: a token redoubt reuses must still be valid.
// Tokens carry their signing time in whole seconds (X-Amz-Date), so a token
// signed at hh:mm:s.9 with token_lifetime 2s expires at s+2, 1.1 s later,
// not 2 s later. The test has one signed that way (a first login at .9 of
// a second) and logs in again just after s+2, while redoubt still reuses
// it; that login must not be refused.
func TestIAMTokenReuseNearExpiry(t *testing.T) {
	isolateAWSEnv(t, true)
	// Default reauth_interval: only the logins below ask for tokens.
	ig := startIAMGateway(t, 2*time.Second, 0, ", token_lifetime: 2s")
	login := "AUTH alice " + iamAliceSecret + "\r\nPING\r\n"
	// untilFraction sleeps until the wall clock is at frac of a second.
	untilFraction := func(frac time.Duration) time.Time {
		now := time.Now()
		next := now.Truncate(time.Second).Add(frac)
		if !next.After(now) {
			next = next.Add(time.Second)
		}
		time.Sleep(time.Until(next))
		return time.Now()
	}
	arranged := 0
	for attempt := 0; attempt < 5 && arranged < 2; attempt++ {
		// More than 2/3 of the lifetime after the last login: the next
		// login signs a fresh token.
		time.Sleep(1500 * time.Millisecond)
		start := untilFraction(900 * time.Millisecond)
		first := dialRaw(t, ig.listen)
		first.send(login)
		first.expect("+OK\r\n+PONG\r\n")
		signedIn := start.Truncate(time.Second)
		if !time.Now().Truncate(time.Second).Equal(signedIn) {
			continue // the login crossed into the next second: try again
		}
		arranged++
		time.Sleep(time.Until(signedIn.Add(2*time.Second + 50*time.Millisecond)))
		second := dialRaw(t, ig.listen)
		second.send(login)
		second.expect("+OK\r\n+PONG\r\n")
		first.Close()
		second.Close()
	}
	if arranged == 0 {
		t.Fatal("could not place a login within the last tenth of a second in 5 attempts")
	}
	if r := ig.front.Rejected(); r != 0 {
		t.Errorf("the Front refused %d logins; front: %s", r, iamFrontStats(ig.front))
	}
}

// TestIAMReloginWaitsForSafePoint: a re-login that falls due inside MULTI,
// in RESP2 subscribed mode or while a blocking command waits is held back
// (AUTH there would be queued, refused or delayed, docs/aws-iam.md) and
// sent at the next safe point; the session keeps reading the client
// meanwhile, so that safe point can come.
func TestIAMReloginWaitsForSafePoint(t *testing.T) {
	isolateAWSEnv(t, true)
	const (
		reauth = time.Second     // reauth_interval
		maxAge = 4 * time.Second // the Front's stand-in for 12 hours
		hold   = 2 * reauth      // < maxAge - reauth: the Front does not close
	)
	ctx := context.Background()

	t.Run("open MULTI", func(t *testing.T) {
		ig := startIAMGateway(t, 0, maxAge, ", reauth_interval: 1s")
		rdb := ig.client(t, "alice", iamAliceSecret, 0, nil)
		cn := rdb.Conn()
		defer cn.Close()
		if err := cn.Do(ctx, "MULTI").Err(); err != nil {
			t.Fatal(err)
		}
		inMulti := ig.front.Reauths()
		if err := cn.Do(ctx, "SET", "open-multi", "1").Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(hold) // a re-login falls due meanwhile
		queued := ig.front.Reauths()
		res, err := cn.Do(ctx, "EXEC").Slice()
		if err != nil || len(res) != 1 || res[0] != "OK" {
			t.Fatalf("EXEC = %v, %v; want [OK]; front: %s", res, err, iamFrontStats(ig.front))
		}
		if queued != inMulti {
			t.Errorf("redoubt injected %d re-login(s) inside MULTI", queued-inMulti)
		}
		waitFor(t, 10*time.Second, "the deferred re-login after EXEC", func() bool { return ig.front.Reauths() > queued })
		if v, err := cn.Get(ctx, "open-multi").Result(); err != nil || v != "1" {
			t.Errorf("GET after EXEC = %q, %v", v, err)
		}
		if ig.front.ForcedCloses() != 0 || ig.front.Rejected() != 0 {
			t.Errorf("front: %s", iamFrontStats(ig.front))
		}
	})

	t.Run("RESP2 subscribed", func(t *testing.T) {
		ig := startIAMGateway(t, 0, maxAge, ", reauth_interval: 1s")
		rdb := ig.client(t, "alice", iamAliceSecret, 2, nil)
		sub := rdb.Subscribe(ctx, "news")
		defer sub.Close()
		if _, err := sub.ReceiveTimeout(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		subscribed := ig.front.Reauths()
		time.Sleep(hold) // a re-login falls due meanwhile
		if n := ig.front.Reauths() - subscribed; n != 0 {
			t.Errorf("redoubt sent %d re-login(s) in RESP2 subscribed mode, where AUTH is refused", n)
		}
		if err := sub.Unsubscribe(ctx, "news"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the deferred re-login after UNSUBSCRIBE", func() bool { return ig.front.Reauths() > subscribed })
		if err := sub.Ping(ctx); err != nil {
			t.Errorf("PING after UNSUBSCRIBE: %v", err)
		}
		if ig.front.ForcedCloses() != 0 || ig.front.Rejected() != 0 {
			t.Errorf("front: %s", iamFrontStats(ig.front))
		}
	})

	t.Run("blocking command", func(t *testing.T) {
		ig := startIAMGateway(t, 0, maxAge, ", reauth_interval: 1s")
		rdb := ig.client(t, "alice", iamAliceSecret, 0, nil)
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		before := ig.front.Reauths()
		during := make(chan int64, 1)
		go func() {
			// Read the counter just before BLPOP times out.
			time.Sleep(hold - 200*time.Millisecond)
			during <- ig.front.Reauths()
		}()
		if err := rdb.BLPop(ctx, hold, "empty-list").Err(); !errors.Is(err, redis.Nil) {
			t.Fatalf("BLPOP = %v, want a timeout (nil reply)", err)
		}
		if n := <-during - before; n != 0 {
			t.Errorf("redoubt sent %d re-login(s) while BLPOP was blocked (docs/aws-iam.md: never while a blocking command is waiting)", n)
		}
		waitFor(t, 10*time.Second, "a re-login after BLPOP", func() bool { return ig.front.Reauths() > before })
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Errorf("PING after BLPOP: %v", err)
		}
	})
}

// TestIAMPassThroughClosedAtMaxAge: a pass-through session (a tenant with
// role full on an upstream of its own) cannot carry an injected re-login,
// so redoubt closes it at max_connection_age, before the Front (whose maxAge
// stands in for AWS's 12 hours, as max_connection_age: 2s stands in for the
// default 11h) would. The client then reconnects.
func TestIAMPassThroughClosedAtMaxAge(t *testing.T) {
	isolateAWSEnv(t, true)
	cert := iamtest.SelfSigned(t)
	front := startIAMFront(t, cert, 0, 8*time.Second)
	listen := freeAddr(t)
	cfg := fmt.Sprintf(`listen: [{address: %q}]
log: {level: debug}
limits: {shutdown_grace: 1s}
upstreams:
%stenants:
  - {name: bob, secret_sha256: %q, upstream: own, role: full}
`, listen, iamUpstream("own", front, cert, ", max_connection_age: 2s"), sha256hex(iamBobSecret))
	g := startGateway(t, cfg, listen)

	c := dialRaw(t, listen)
	c.send("AUTH bob " + iamBobSecret + "\r\n")
	c.expect("+OK\r\n")
	c.send("SET pt 1\r\nGET pt\r\n")
	c.expect("+OK\r\n$1\r\n1\r\n")
	waitFor(t, 5*time.Second, "the pass-through session's log line", func() bool {
		return strings.Contains(g.Log.String(), "pass_through=true")
	})
	iamWaitClosed(t, c, 20*time.Second)
	waitFor(t, 5*time.Second, "the disconnect log line", func() bool {
		return strings.Contains(g.Log.String(), `reason="max connection age"`)
	})
	if front.ForcedCloses() != 0 {
		t.Errorf("the Front closed the connection, not redoubt; front: %s", iamFrontStats(front))
	}

	// A new connection works (and is a new upstream login).
	c2 := dialRaw(t, listen)
	c2.send("AUTH bob " + iamBobSecret + "\r\nGET pt\r\n")
	c2.expect("+OK\r\n$1\r\n1\r\n")
	if n := front.Accepted(); n != 2 {
		t.Errorf("%d logins at the Front, want 2 (one per session); front: %s", n, iamFrontStats(front))
	}
	g.Stop()
	assertNoIAMSecrets(t, "gateway log", g.Log.String(), iamBobSecret)
}

// iamWaitClosed waits until the peer closes c (reading and dropping anything
// it sends first).
func iamWaitClosed(t *testing.T, c *rawConn, timeout time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v", timeout)
		}
		return
	}
}

// iamRunCLI runs redoubt in-process and returns its exit code and output.
func iamRunCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- cli.Run(ctx, args, &out, &errOut) }()
	select {
	case code = <-done:
	case <-time.After(90 * time.Second):
		t.Fatalf("redoubt %s did not return", strings.Join(args, " "))
	}
	return code, out.String(), errOut.String()
}

// TestIAMConfigValidation: check and serve refuse every misuse of aws-iam
// the docs list, each with its key path.
func TestIAMConfigValidation(t *testing.T) {
	isolateAWSEnv(t, true)
	t.Setenv("IAM_E2E_REDIS_PASSWORD", "pw-must-not-be-used")
	cert := iamtest.SelfSigned(t)
	file := func(t *testing.T, address, tls, auth string, db int) string {
		cfg := fmt.Sprintf(`listen: [{address: "127.0.0.1:0"}]
upstreams:
  cache:
    address: %q
%s    auth: {%s}
tenants:
  - {name: app, secret_sha256: %q, upstream: cache, db: %d, role: readwrite}
`, address, tls, auth, sha256hex("x"), db)
		return iamWriteFile(t, "redoubt.yaml", cfg)
	}
	okTLS := fmt.Sprintf("    tls: {enabled: true, ca_file: %q}\n", cert.CertFile)
	const iam = "mode: aws-iam, username: redoubt, cache_name: Orders-Cache, region: eu-west-1"
	const addr = "127.0.0.1:6379"
	tests := []struct {
		name, address, tls, auth string
		db                       int
		want                     string // "" = valid
		secret                   string // must not be repeated
	}{
		{name: "valid", tls: okTLS, auth: iam, db: 3},
		{name: "valid serverless db 0", tls: okTLS, auth: iam + ", serverless: true", db: 0},
		{name: "valid short test timers", tls: okTLS, auth: iam + ", token_lifetime: 1s, reauth_interval: 1s, max_connection_age: 1s", db: 1},
		{name: "no tls", auth: iam, db: 3, want: "upstreams.cache.auth.mode: aws-iam requires tls.enabled: true"},
		{name: "tls disabled", tls: "    tls: {enabled: false}\n", auth: iam, db: 3, want: "upstreams.cache.auth.mode: aws-iam requires tls.enabled: true"},
		{name: "no username", tls: okTLS, auth: "mode: aws-iam, cache_name: c, region: eu-west-1", want: "upstreams.cache.auth.username: required"},
		{name: "no cache_name", tls: okTLS, auth: "mode: aws-iam, username: redoubt, region: eu-west-1", want: "upstreams.cache.auth.cache_name: required"},
		{name: "password_env", tls: okTLS, auth: iam + ", password_env: IAM_E2E_REDIS_PASSWORD", want: "upstreams.cache.auth.password_env: not allowed with mode aws-iam", secret: "pw-must-not-be-used"},
		{name: "password in address", address: "redoubt:hunter2-in-addr@127.0.0.1:6379", tls: okTLS, auth: iam, want: "upstreams.cache.address:", secret: "hunter2-in-addr"},
		{name: "serverless db 3", tls: okTLS, auth: iam + ", serverless: true", db: 3, want: `tenants[0].db: must be 0: upstreams.cache is ElastiCache Serverless`},
		{name: "cache_name with a slash and a question mark", tls: okTLS, auth: `mode: aws-iam, username: redoubt, cache_name: "my-cache/x?y", region: eu-west-1`, db: 1, want: "upstreams.cache.auth.cache_name: only letters, digits and hyphens"},
		{name: "token_lifetime not whole seconds", tls: okTLS, auth: iam + ", token_lifetime: 1500ms", db: 1, want: "upstreams.cache.auth.token_lifetime: must be whole seconds"},
		{name: "token_lifetime over 15m", tls: okTLS, auth: iam + ", token_lifetime: 16m", want: "upstreams.cache.auth.token_lifetime: must be"},
		{name: "reauth_interval 12h", tls: okTLS, auth: iam + ", reauth_interval: 12h", want: "upstreams.cache.auth.reauth_interval: must be"},
		{name: "max_connection_age over 12h", tls: okTLS, auth: iam + ", max_connection_age: 13h", want: "upstreams.cache.auth.max_connection_age: must be"},
		{name: "iam keys with acl", tls: okTLS, auth: "mode: acl, username: u, password_env: IAM_E2E_REDIS_PASSWORD, cache_name: c", want: "upstreams.cache.auth.cache_name: only used with mode aws-iam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			address := tt.address
			if address == "" {
				address = addr
			}
			path := file(t, address, tt.tls, tt.auth, tt.db)
			code, stdout, stderr := iamRunCLI(t, "check", "--config", path)
			out := stdout + stderr
			if tt.want == "" {
				if code != 0 {
					t.Fatalf("check refused a valid config (exit %d):\n%s", code, out)
				}
				return
			}
			if code != cli.ExitConfig || !strings.Contains(out, tt.want) {
				t.Errorf("check: exit %d, output:\n%s\nwant exit %d and %q", code, out, cli.ExitConfig, tt.want)
			}
			// serve refuses the same file with the same message, before
			// it retrieves any AWS credentials.
			code, stdout, stderr = iamRunCLI(t, "serve", "--config", path)
			sout := stdout + stderr
			if code == 0 || !strings.Contains(sout, tt.want) {
				t.Errorf("serve: exit %d, output:\n%s\nwant non-zero and %q", code, sout, tt.want)
			}
			for _, s := range []string{tt.secret, iamTestSecret} {
				if s != "" && (strings.Contains(out, s) || strings.Contains(sout, s)) {
					t.Errorf("output repeats the secret %q", s)
				}
			}
		})
	}
}

// TestIAMTokenCommand: redoubt iam-token prints a token that the stand-in's
// independent SigV4 check accepts, made with the credentials in the
// environment.
func TestIAMTokenCommand(t *testing.T) {
	isolateAWSEnv(t, true)
	tests := []struct {
		name       string
		args       []string
		region     string // AWS_REGION, when --region is not given
		serverless bool
	}{
		{name: "node-based", args: []string{"--region", "eu-west-1"}},
		{name: "serverless", args: []string{"--region", "eu-west-1", "--serverless"}, serverless: true},
		{name: "region from AWS_REGION", region: "eu-west-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.region != "" {
				t.Setenv("AWS_REGION", tt.region)
			}
			args := append([]string{"iam-token", "--cache-name", "Orders-Cache", "--user", iamTestUser}, tt.args...)
			code, stdout, stderr := iamRunCLI(t, args...)
			if code != 0 {
				t.Fatalf("iam-token: exit %d: %s", code, stderr)
			}
			tok := strings.TrimSuffix(stdout, "\n")
			if tok == "" || strings.ContainsAny(tok, "\n ") || strings.HasPrefix(tok, "https://") {
				t.Fatalf("iam-token printed %q, want one token without https://", stdout)
			}
			want := iamtest.Expect{CacheName: iamTestCache, User: iamTestUser, Region: iamTestRegion,
				Serverless: tt.serverless, Lifetime: 15 * time.Minute}
			if err := iamtest.VerifyToken(tok, want, iamTestCreds(), time.Now()); err != nil {
				t.Fatalf("the token does not verify: %v", err)
			}
			if got := strings.Contains(tok, "ResourceType=ServerlessCache"); got != tt.serverless {
				t.Errorf("ResourceType=ServerlessCache in the token: %v, want %v", got, tt.serverless)
			}
			// The other kind of cache, another region and other
			// credentials refuse it: the check above cannot pass by accident.
			other := want
			other.Serverless = !tt.serverless
			if err := iamtest.VerifyToken(tok, other, iamTestCreds(), time.Now()); !errors.Is(err, iamtest.ErrMismatch) {
				t.Errorf("verified as serverless=%v: %v, want ErrMismatch", other.Serverless, err)
			}
			other = want
			other.Region = "us-east-1"
			if err := iamtest.VerifyToken(tok, other, iamTestCreds(), time.Now()); err == nil {
				t.Error("the token verified for another region")
			}
			wrong := iamTestCreds()
			wrong.SecretAccessKey = "another-secret-key"
			if err := iamtest.VerifyToken(tok, want, wrong, time.Now()); !errors.Is(err, iamtest.ErrSignature) {
				t.Errorf("verified with another secret key: %v, want ErrSignature", err)
			}
			if err := iamtest.VerifyToken(tok, want, iamTestCreds(), time.Now().Add(15*time.Minute+time.Second)); !errors.Is(err, iamtest.ErrExpired) {
				t.Errorf("verified after 15 minutes: %v, want ErrExpired", err)
			}
			if strings.Contains(stdout+stderr, iamTestSecret) {
				t.Error("iam-token printed the secret key")
			}
		})
	}
}

// TestIAMServeFailsWithoutCredentials: with nothing in the SDK's chain (no
// environment credentials, empty config files, instance metadata disabled),
// serve refuses to start, with a clear message and no secret, instead of
// failing at the first client's dial.
func TestIAMServeFailsWithoutCredentials(t *testing.T) {
	cert := iamtest.SelfSigned(t)
	for _, tt := range []struct {
		name, secretOnly string
	}{
		{name: "no credentials"},
		// A secret key without its key id is not usable credentials; the
		// error must not repeat it.
		{name: "secret key without key id", secretOnly: "lonely-secret-key-must-not-be-logged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t, false)
			if tt.secretOnly != "" {
				t.Setenv("AWS_SECRET_ACCESS_KEY", tt.secretOnly)
			}
			cfg := fmt.Sprintf(`listen: [{address: %q}]
upstreams:
  cache:
    address: 127.0.0.1:6379
    tls: {enabled: true, ca_file: %q}
    auth: {mode: aws-iam, username: redoubt, cache_name: orders-cache, region: eu-west-1}
tenants:
  - {name: app, secret_sha256: %q, upstream: cache, db: 1}
`, freeAddr(t), cert.CertFile, sha256hex("x"))
			path := iamWriteFile(t, "redoubt.yaml", cfg)
			code, stdout, stderr := iamRunCLI(t, "serve", "--config", path)
			out := stdout + stderr
			if code != cli.ExitRuntime {
				t.Fatalf("serve: exit %d, want %d (runtime failure):\n%s", code, cli.ExitRuntime, out)
			}
			if !strings.Contains(out, "upstreams.cache.auth") || !strings.Contains(out, "credentials") {
				t.Errorf("serve's message should name the upstream and the missing AWS credentials:\n%s", out)
			}
			if strings.Contains(out, "redoubt serving") {
				t.Errorf("serve started before failing:\n%s", out)
			}
			if tt.secretOnly != "" && strings.Contains(out, tt.secretOnly) {
				t.Errorf("serve's output repeats the secret key:\n%s", out)
			}
		})
	}
}
