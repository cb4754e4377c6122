package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// An mTLS listener requires a client certificate unless it says
// client_auth: optional, and a renewed server certificate at the same
// path is served to new connections without a restart, while a broken one
// leaves the current certificate in service.
func TestMTLSRequiredAndCertificateReload(t *testing.T) {
	ca := newTestCA(t)
	srvCert := ca.issue("server", true, "first")
	r := redistest.Start(t)
	t.Setenv("DAVE_SECRET", "dave-secret-0123456789")
	tlsAddr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listen:
  - address: %s
    tls: {cert_file: %s, key_file: %s, client_ca_file: %s}
upstreams:
  main: {address: %s}
tenants:
  - {name: dave, secret_env: DAVE_SECRET, upstream: main, db: 1}
  - {name: erin, upstream: main, db: 2}
`, tlsAddr, srvCert.CertFile, srvCert.KeyFile, ca.CAFile, r.Addr), tlsAddr)
	ctx := context.Background()
	clientTLS := &tls.Config{RootCAs: ca.Pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}

	t.Run("password client without a certificate is refused", func(t *testing.T) {
		c := client(t, tlsAddr, "dave", "dave-secret-0123456789", func(o *redis.Options) { o.TLSConfig = clientTLS; o.MaxRetries = -1 })
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatal("PING without a client certificate succeeded on a listener that requires one")
		}
	})
	withCert := clientTLS.Clone()
	withCert.Certificates = []tls.Certificate{ca.issue("erin", false, "someone", "redoubt://tenant/erin").TLS}
	t.Run("certificate client", func(t *testing.T) {
		c := client(t, tlsAddr, "", "", func(o *redis.Options) { o.TLSConfig = withCert })
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatalf("SET: %v", err)
		}
	})

	servedCN := func() string {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", tlsAddr, withCert)
		if err != nil {
			return "dial: " + err.Error()
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := servedCN(); cn != "first" {
		t.Fatalf("served %q, want first", cn)
	}
	moveOver := func(from, to string) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(filepath.Dir(to), "tmp.pem")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(2 * time.Second)
		_ = os.Chtimes(tmp, later, later)
		if err := os.Rename(tmp, to); err != nil {
			t.Fatal(err)
		}
	}
	renewed := ca.issue("server2", true, "renewed")
	moveOver(renewed.KeyFile, srvCert.KeyFile)
	moveOver(renewed.CertFile, srvCert.CertFile)
	waitFor(t, 10*time.Second, "the renewed certificate", func() bool { return servedCN() == "renewed" })

	if err := os.WriteFile(filepath.Join(filepath.Dir(srvCert.CertFile), "bad.pem"), []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	moveOver(filepath.Join(filepath.Dir(srvCert.CertFile), "bad.pem"), srvCert.CertFile)
	waitFor(t, 10*time.Second, "the refused reload in the log", func() bool {
		return strings.Contains(g.Log.String(), "listener certificate reload refused")
	})
	if cn := servedCN(); cn != "renewed" {
		t.Fatalf("after a broken certificate file, served %q, want the previous one", cn)
	}
}

// check reports every problem at once (bad commands rules of every tenant
// with a bad duration, an unset variable and the rules serve applies at
// build time), and no message repeats a value typed into the file.
func TestCheckReportsEveryProblemAndNoValue(t *testing.T) {
	const canary = "C4NARY0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	path := filepath.Join(t.TempDir(), "redoubt.yaml")
	cfg := `
listen: [{address: 127.0.0.1:6380}]
upstreams:
  main: {address: 127.0.0.1:6379}
  iam:
    address: my-cache.cache.amazonaws.com:6379
    tls: {enabled: true}
    auth: {mode: aws-iam, username: proxy, cache_name: "my-cache/x?C4NARY", region: eu-west-1}
tenants:
  - {name: alice, secret_sha256: "` + sha256hex("a") + `", upstream: main, db: 1, commands: "+get +C4NARYcmd"}
  - {name: bob, secret_sha256: "` + sha256hex("b") + `", upstream: main, db: 2, commands: "-@C4NARYcat"}
  - {name: carol, secret_env: ` + canary + `, upstream: main, db: 3}
  - {name: dave, secret_sha256: "` + sha256hex("d") + `", upstream: "C4NARY-up", role: "C4NARY"}
tokens:
  revoked: ["` + canary + `"]
limits:
  auth_timeout: "` + canary + `"
log: {level: "C4NARY"}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "check", "--config", path)
	out := stdout + stderr
	if code != 1 {
		t.Fatalf("check exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"tenants[0].commands: rule 2: unknown command",
		"tenants[1].commands: rule 1: unknown category",
		"tenants[2].secret_env: the environment variable this key names is not set",
		"tenants[3].upstream: names no entry of upstreams",
		"tenants[3].role: unknown role",
		"upstreams.iam.auth.cache_name: only letters, digits and hyphens",
		"tokens.revoked[0]: not a token id",
		"limits.auth_timeout: not a duration",
		"log.level: unknown level",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(strings.ToLower(out), "c4nary") {
		t.Errorf("check repeats a value from the file:\n%s", out)
	}
}

// check passes a config that is valid but weak, and says what is weak.
func TestCheckWarns(t *testing.T) {
	t.Setenv("TOKEN_KEY", strings.Repeat("k", 40))
	path := filepath.Join(t.TempDir(), "redoubt.yaml")
	cfg := `
listen: [{address: 127.0.0.1:6380}]
admin: {address: 0.0.0.0:9121, pprof: true}
upstreams:
  main:
    address: 127.0.0.1:6379
    tls: {enabled: true, insecure_skip_verify: true}
tenants:
  - {name: alice, secret_sha256: "` + sha256hex("a") + `", upstream: main, db: 1}
tokens:
  keys: [{id: k1, secret_env: TOKEN_KEY}]
  allow_upstreams: ["*:*", "0.0.0.0/0:6379", "10.1.0.0/16:6379"]
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "check", "--config", path)
	if code != 0 {
		t.Fatalf("check exit %d:\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"warning: upstreams.main.tls.insecure_skip_verify:",
		"warning: admin.pprof:",
		"warning: tokens.allow_upstreams[0]:",
		"warning: tokens.allow_upstreams[1]:",
		": ok (",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "allow_upstreams[2]") {
		t.Errorf("a /16 is not a broad allow-list:\n%s", stdout)
	}
}

// A reload says which changed limits wait for a restart, and a refused
// reload's log line names the key without repeating the value.
func TestReloadReportsStartOnlyLimitsAndEchoesNoValue(t *testing.T) {
	r := redistest.Start(t)
	addr := freeAddr(t)
	base := fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  main: {address: %s}
tenants:
  - {name: alice, secret_sha256: "%s", upstream: main, db: 1}
`, addr, r.Addr, sha256hex("alice-secret-0123456789"))
	g := startGateway(t, base, addr)
	g.Rewrite(t, base+"limits: {passthrough_buf_size: 131072, event_loops: 2, auth_fail_window: 5m, max_connections: 100}\n")
	waitFor(t, 10*time.Second, "the reload", func() bool {
		return strings.Contains(g.Log.String(), "limits.event_loops changed; it takes effect at the next restart")
	})
	// auth_fail_* and the connection caps apply on reload.
	if !strings.Contains(g.Log.String(), "limits.passthrough_buf_size changed") ||
		strings.Contains(g.Log.String(), "limits.max_connections changed") || strings.Contains(g.Log.String(), "limits.auth_fail_window changed") {
		t.Fatalf("reload log:\n%s", g.Log.String())
	}
	const canary = "C4NARY0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	g.Rewrite(t, base+"limits: {auth_timeout: "+canary+"}\ntokens: {keys: [{id: k1, secret_env: "+canary+"}]}\n")
	waitFor(t, 10*time.Second, "the refused reload", func() bool {
		return strings.Contains(g.Log.String(), "reload refused")
	})
	if strings.Contains(strings.ToLower(g.Log.String()), "c4nary") {
		t.Fatalf("the reload log repeats a value from the file:\n%s", g.Log.String())
	}
}

// The commands redoubt injects into a live session carry the upstream
// password (RESET's re-login here; AWS IAM's periodic one likewise). An
// upstream that refuses one echoes the arguments; the log keeps only the
// leading words. AUTH is renamed away on this server, so the session logs
// in with HELLO 3 AUTH and RESET's injected AUTH is refused.
func TestInjectedLoginErrorsDoNotLogThePassword(t *testing.T) {
	const upPass = "Upstream-Pass-0123456789-inj3cted"
	r := redistest.Start(t, "--requirepass", upPass, "--rename-command", "AUTH", "")
	t.Setenv("UP_PASS", upPass)
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listen: [{address: %s}]
upstreams:
  main: {address: %s, auth: {mode: password, password_env: UP_PASS}}
tenants:
  - {name: alice, secret_sha256: "%s", upstream: main, db: 1}
  - {name: carol, secret_sha256: "%s", upstream: main, db: 2}
`, addr, r.Addr, sha256hex("alice-secret-0123456789"), sha256hex("carol-secret-0123456789")), addr)
	c := dialRaw(t, addr)
	c.send("HELLO 3 AUTH alice alice-secret-0123456789\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	if n, err := c.Read(buf); err != nil || buf[0] != '%' {
		t.Fatalf("HELLO reply %q, %v", buf[:n], err)
	}
	c.send("RESET\r\n")
	waitFor(t, 10*time.Second, "the refused re-login in the log", func() bool {
		return strings.Contains(g.Log.String(), "upstream refused an injected command")
	})
	if log := g.Log.String(); strings.Contains(log, upPass) || strings.Contains(log, upPass[:12]) {
		t.Fatalf("the log carries the upstream password:\n%s", log)
	}
}
