package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Secrets of the token tests. Key secrets live in TOKEN_KEY_<ID>.
const (
	tokAliceSecret  = "alice-static-secret-0123456789abcdef"
	tokLegacySecret = "legacy-shared-secret-s3cret"
	wrongPass       = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
)

// keySecret is the HMAC key of key id (at least 32 bytes).
func keySecret(id string) string { return strings.Repeat(id+"-hmac-key-", 8) }

func keyEnv(id string) string { return "TOKEN_KEY_" + strings.ToUpper(id) }

// setTokenEnv sets the variables the token configs name.
func setTokenEnv(t *testing.T, keyIDs ...string) {
	t.Helper()
	t.Setenv("ALICE_SECRET", tokAliceSecret)
	t.Setenv("LEGACY_SECRET", tokLegacySecret)
	for _, id := range keyIDs {
		t.Setenv(keyEnv(id), keySecret(id))
	}
}

// tokenCfg is a gateway (or issuer) configuration: tenant alice owns
// upstream A (pass-through), tokens may route to allow.
type tokenCfg struct {
	listen    string
	upstreamA string
	ghost     bool     // also a tenant "ghost" (issuer configs only)
	keys      []string // key ids; secret in keyEnv(id), or keyEnvs[id] when set
	keyEnvs   map[string]string
	legacyEnv string
	allow     []string
	revoked   []string
}

func (c tokenCfg) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: [{address: %q}]\n", c.listen)
	fmt.Fprintf(&b, "upstreams:\n  a: {address: %q}\n", c.upstreamA)
	if c.ghost {
		b.WriteString("  g: {address: \"127.0.0.1:9\"}\n")
	}
	b.WriteString("tenants:\n  - {name: alice, secret_env: ALICE_SECRET, upstream: a, role: full}\n")
	if c.ghost {
		b.WriteString("  - {name: ghost, secret_env: ALICE_SECRET, upstream: g, role: full}\n")
	}
	b.WriteString("tokens:\n")
	if len(c.keys) > 0 {
		b.WriteString("  keys:\n")
		for _, id := range c.keys {
			env := keyEnv(id)
			if e, ok := c.keyEnvs[id]; ok {
				env = e
			}
			fmt.Fprintf(&b, "    - {id: %s, secret_env: %s}\n", id, env)
		}
	}
	if c.legacyEnv != "" {
		fmt.Fprintf(&b, "  legacy_secret_env: %s\n", c.legacyEnv)
	}
	fmt.Fprintf(&b, "  allow_upstreams: [%s]\n", quoteList(c.allow))
	fmt.Fprintf(&b, "  revoked: [%s]\n", quoteList(c.revoked))
	b.WriteString("limits: {auth_fail_per_addr: -1, shutdown_grace: 1s}\n")
	return b.String()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// writeConfig writes an issuer-side configuration file.
func writeConfig(t *testing.T, cfg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "issuer.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// signedToken is what `token issue` printed.
type signedToken struct {
	tok, id, kid string
	exp          time.Time
}

var issuedLineRE = regexp.MustCompile(`token id ([0-9a-f]{32}), key (\S+), expires (\S+)`)

// issueToken runs `redoubt token issue --config cfg args...`.
func issueToken(t *testing.T, cfg string, args ...string) signedToken {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"token", "issue", "--config", cfg}, args...)...)
	if code != 0 {
		t.Fatalf("token issue %v: exit %d: %s", args, code, errOut)
	}
	m := issuedLineRE.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("token issue %v: no token id on stderr: %q", args, errOut)
	}
	exp, err := time.Parse(time.RFC3339, m[3])
	if err != nil {
		t.Fatal(err)
	}
	return signedToken{tok: strings.TrimSpace(out), id: m[1], kid: m[2], exp: exp}
}

// legacyToken runs `redoubt token legacy`.
func legacyToken(t *testing.T, upstream, secret string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "token", "legacy", "--upstream", upstream, "--secret", secret)
	if code != 0 {
		t.Fatalf("token legacy: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// tamper swaps the base64url character at i for another one. (The last
// character of a signature also carries padding bits: tamper elsewhere.)
func tamper(s string, i int) string {
	r := byte('A')
	if s[i] == 'A' {
		r = 'B'
	}
	return s[:i] + string(r) + s[i+1:]
}

// respCmd encodes a command as a RESP array.
func respCmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// line reads one reply line (with its CRLF).
func (r *rawConn) line() string {
	r.t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(b, []byte("\r\n")) {
		if _, err := r.Read(one); err != nil {
			r.t.Fatalf("read after %q: %v", b, err)
		}
		b = append(b, one[0])
	}
	return string(b)
}

// authRaw opens a connection and sends AUTH [user] tok.
func authRaw(t *testing.T, addr, user, tok string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	if user == "" {
		c.send(respCmd("AUTH", tok))
	} else {
		c.send(respCmd("AUTH", user, tok))
	}
	return c
}

// goRedis is a go-redis client that logs in with Password: pw, i.e.
// HELLO 3 AUTH default pw. It never retries, so an error is the server's.
func goRedis(t *testing.T, addr, pw string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Password: pw, Protocol: 3, MaxRetries: -1,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// getDB reads key from db of a real redis-server, bypassing the gateway.
func getDB(t *testing.T, addr string, db int, key string) string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer c.Close()
	v, err := c.Get(context.Background(), key).Result()
	if errors.Is(err, redis.Nil) {
		return "(nil)"
	}
	if err != nil {
		t.Fatalf("GET %s on %s db %d: %v", key, addr, db, err)
	}
	return v
}

// markedServers starts two real redis-servers, A and B, whose key "marker"
// holds "A" and "B" in DB 0.
func markedServers(t *testing.T) (a, b *redistest.Server) {
	t.Helper()
	a, b = redistest.Start(t), redistest.Start(t)
	for s, v := range map[*redistest.Server]string{a: "A", b: "B"} {
		if got := s.Do(t, "SET", "marker", v); got != "+OK" {
			t.Fatalf("SET marker: %s", got)
		}
	}
	return a, b
}

// countingListener accepts TCP connections and counts them: the proof
// that the gateway dialed (or did not dial) an address.
type countingListener struct {
	addr     string
	accepted atomic.Int64
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cl.accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return cl
}

// portOf is the port of a HOST:PORT address.
func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNoSecrets fails when the log holds a token, a part of one, or a secret.
func assertNoSecrets(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		parts := []string{s}
		if strings.HasPrefix(s, "rdt") {
			f := strings.Split(s, ".")
			parts = append(parts, f[len(f)-2:]...) // payload and signature
		}
		for _, p := range parts {
			if p != "" && strings.Contains(log, p) {
				t.Errorf("log contains secret material %.12q...", p)
			}
		}
	}
}

var reloadedLine = regexp.MustCompile(`msg="configuration reloaded".* sessions_closed=(\d+)`)

// reload rewrites the gateway's config, waits until it is reloaded and
// returns how many sessions the reload closed. Reload closes them before
// it logs, so once this returns the closed sessions are gone.
func reload(t *testing.T, g *Gateway, cfg string) int {
	t.Helper()
	before := len(reloadedLine.FindAllString(g.Log.String(), -1))
	g.Rewrite(t, cfg)
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := g.Log.String()
		if all := reloadedLine.FindAllStringSubmatch(log, -1); len(all) > before {
			n, _ := strconv.Atoi(all[len(all)-1][1])
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("config not reloaded within 5s:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pinger is a live go-redis session that PINGs until its first error.
type pinger struct {
	name  string
	pings atomic.Int64
	err   atomic.Pointer[error]
	done  chan struct{}
}

// startPinger logs in with pw over one go-redis connection and PINGs every
// 20 ms on it.
func startPinger(t *testing.T, addr, name, pw string) *pinger {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cn := goRedis(t, addr, pw).Conn()
	if err := cn.Ping(ctx).Err(); err != nil {
		cancel()
		t.Fatalf("%s: first PING: %v", name, err)
	}
	p := &pinger{name: name, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			if err := cn.Ping(ctx).Err(); err != nil {
				if ctx.Err() == nil {
					p.err.Store(&err)
				}
				return
			}
			p.pings.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-p.done; cn.Close() })
	return p
}

// failed is the session's first error, or nil while it is alive.
func (p *pinger) failed() error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// waitClosed waits until the session has been cut off.
func (p *pinger) waitClosed(t *testing.T) {
	t.Helper()
	waitFor(t, 3*time.Second, p.name+" to be closed", func() bool { return p.failed() != nil })
}

// checkAlive asserts the session keeps answering PINGs: it waits for three
// more successful PINGs and no error.
func (p *pinger) checkAlive(t *testing.T) {
	t.Helper()
	n := p.pings.Load()
	deadline := time.Now().Add(5 * time.Second)
	for p.pings.Load() < n+3 {
		if err := p.failed(); err != nil {
			t.Fatalf("%s was closed: %v", p.name, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no PING answered in 5s", p.name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
