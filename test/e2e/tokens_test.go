package e2e

import (
	"context"
	"encoding/base64"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Issue 4, end to end: signed and legacy tokens against two real
// redis-servers, A (tenant alice's upstream) and B (reached by token routes).

// TestTokenLogin: each token kind, with each way of giving it, reaches the
// server its route names.
func TestTokenLogin(t *testing.T) {
	setTokenEnv(t, "k1")
	a, b := markedServers(t)
	cfg := tokenCfg{listen: freeAddr(t), upstreamA: a.Addr, keys: []string{"k1"},
		legacyEnv: "LEGACY_SECRET", allow: []string{b.Addr}}
	g := startGateway(t, cfg.yaml(), cfg.listen)
	tenantTok := issueToken(t, g.ConfigPath, "--tenant", "alice").tok
	adhocTok := issueToken(t, g.ConfigPath, "--upstream", b.Addr).tok
	legacyTok := legacyToken(t, b.Addr, tokLegacySecret)

	// The original format, built here as the old issuers did, not by redoubt.
	byHand := base64.StdEncoding.EncodeToString([]byte(b.Addr + " " + sha256hex(b.Addr+" "+tokLegacySecret)))
	host, port, _ := net.SplitHostPort(cfg.listen)

	tests := []struct {
		desc, tok string
		via       string // auth: AUTH tok; auth-user: AUTH someone tok; go-redis: HELLO 3 AUTH default tok; redis-cli: -a tok
		want      string // marker of the server reached
	}{
		{desc: "tenant token, AUTH TOKEN", tok: tenantTok, via: "auth", want: "A"},
		{desc: "tenant token, AUTH anyname TOKEN", tok: tenantTok, via: "auth-user", want: "A"},
		{desc: "tenant token, go-redis HELLO 3 AUTH default TOKEN", tok: tenantTok, via: "go-redis", want: "A"},
		{desc: "tenant token, redis-cli -a TOKEN", tok: tenantTok, via: "redis-cli", want: "A"},
		{desc: "ad-hoc token, AUTH TOKEN", tok: adhocTok, via: "auth", want: "B"},
		{desc: "ad-hoc token, go-redis", tok: adhocTok, via: "go-redis", want: "B"},
		{desc: "legacy token, AUTH TOKEN", tok: legacyTok, via: "auth", want: "B"},
		{desc: "legacy token, AUTH anyname TOKEN", tok: legacyTok, via: "auth-user", want: "B"},
		{desc: "legacy token, go-redis", tok: legacyTok, via: "go-redis", want: "B"},
		{desc: "legacy token built by hand, redis-cli", tok: byHand, via: "redis-cli", want: "B"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got string
			switch tc.via {
			case "go-redis":
				v, err := goRedis(t, cfg.listen, tc.tok).Get(context.Background(), "marker").Result()
				if err != nil {
					t.Fatalf("GET marker: %v\n%s", err, g.Log.String())
				}
				got = v
			case "redis-cli":
				out, err := exec.Command("redis-cli", "-h", host, "-p", port, "--no-auth-warning", "-a", tc.tok, "GET", "marker").CombinedOutput()
				if err != nil {
					t.Fatalf("redis-cli: %v: %s", err, out)
				}
				got = strings.TrimSpace(string(out))
			default:
				user := ""
				if tc.via == "auth-user" {
					user = "someone"
				}
				c := authRaw(t, cfg.listen, user, tc.tok)
				c.expect("+OK\r\n")
				c.send(respCmd("GET", "marker"))
				if n := c.line(); n != "$1\r\n" {
					t.Fatalf("GET marker: %q", n)
				}
				got = strings.TrimSuffix(c.line(), "\r\n")
			}
			if got != tc.want {
				t.Fatalf("GET marker = %q, want %q", got, tc.want)
			}
		})
	}
	assertNoSecrets(t, g.Log.String(), tenantTok, adhocTok, legacyTok, byHand, keySecret("k1"), tokLegacySecret, tokAliceSecret)
}

// TestTokenAdhocDB: an ad-hoc route without a db is pass-through (the
// holder owns the instance); with --db it is pinned to that db.
func TestTokenAdhocDB(t *testing.T) {
	setTokenEnv(t, "k1")
	a, b := markedServers(t)
	cfg := tokenCfg{listen: freeAddr(t), upstreamA: a.Addr, keys: []string{"k1"}, allow: []string{b.Addr}}
	g := startGateway(t, cfg.yaml(), cfg.listen)

	tests := []struct {
		desc       string
		args       []string
		selectDB   string
		wantSelect string // in the reply to SELECT
		key        string
		landsIn    int // DB on B where SET lands
	}{
		{desc: "no --db: pass-through, SELECT 3 reaches db 3", args: []string{"--upstream", b.Addr},
			selectDB: "3", wantSelect: "+OK\r\n", key: "pt-key", landsIn: 3},
		{desc: "--db 2: pinned, SELECT 0 refused, data in db 2", args: []string{"--upstream", b.Addr, "--db", "2"},
			selectDB: "0", wantSelect: "pinned to DB 2", key: "pinned-key", landsIn: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tok := issueToken(t, g.ConfigPath, tc.args...).tok
			c := authRaw(t, cfg.listen, "", tok)
			c.expect("+OK\r\n")
			c.send(respCmd("SELECT", tc.selectDB))
			if got := c.line(); !strings.Contains(got, tc.wantSelect) {
				t.Fatalf("SELECT %s: %q, want %q", tc.selectDB, got, tc.wantSelect)
			}
			c.send(respCmd("SET", tc.key, "v-"+tc.key))
			c.expect("+OK\r\n")
			if got := getDB(t, b.Addr, tc.landsIn, tc.key); got != "v-"+tc.key {
				t.Errorf("B db %d: %s = %q, want %q", tc.landsIn, tc.key, got, "v-"+tc.key)
			}
			if got := getDB(t, b.Addr, 0, tc.key); got != "(nil)" {
				t.Errorf("B db 0: %s = %q, want none", tc.key, got)
			}
			if got := getDB(t, a.Addr, tc.landsIn, tc.key); got != "(nil)" {
				t.Errorf("A db %d: %s = %q, want none", tc.landsIn, tc.key, got)
			}
		})
	}
}

// TestTokenRefused: every bad token gets WRONGPASS, with AUTH and with
// HELLO; the log has the precise reason and never the token or a key; a
// route outside allow_upstreams is never dialed.
func TestTokenRefused(t *testing.T) {
	setTokenEnv(t, "k1", "kx")
	a, b := markedServers(t)
	outside, allowed := listenCounting(t), listenCounting(t)
	cfg := tokenCfg{listen: freeAddr(t), upstreamA: a.Addr, keys: []string{"k1"},
		legacyEnv: "LEGACY_SECRET", allow: []string{b.Addr, allowed.addr}}
	g := startGateway(t, cfg.yaml(), cfg.listen)
	noLegacy := cfg
	noLegacy.listen, noLegacy.legacyEnv = freeAddr(t), ""
	g2 := startGateway(t, noLegacy.yaml(), noLegacy.listen)

	// The control: the counter works and allowed routes are dialed.
	authRaw(t, cfg.listen, "", issueToken(t, g.ConfigPath, "--upstream", allowed.addr).tok)
	waitFor(t, 2*time.Second, "the gateway to dial the allowed route", func() bool { return allowed.accepted.Load() > 0 })

	otherKey := tokenCfg{listen: cfg.listen, upstreamA: a.Addr, keys: []string{"kx"}}
	t.Setenv("TOKEN_KEY_K1_FORGED", strings.Repeat("forged-k1-", 5))
	forgedK1 := tokenCfg{listen: cfg.listen, upstreamA: a.Addr, keys: []string{"k1"},
		keyEnvs: map[string]string{"k1": "TOKEN_KEY_K1_FORGED"}}
	ghost := tokenCfg{listen: cfg.listen, upstreamA: a.Addr, keys: []string{"k1"}, ghost: true}
	outsideName := "localhost:" + portOf(t, outside.addr)

	good := issueToken(t, g.ConfigPath, "--tenant", "alice").tok
	expired := issueToken(t, g.ConfigPath, "--tenant", "alice", "--ttl", "1s")
	f := strings.Split(good, ".")
	tests := []struct {
		desc, tok string
		gw        *Gateway // default g
		reason    string   // in the auth_fail log line
	}{
		{desc: "signed route outside allow_upstreams", tok: issueToken(t, g.ConfigPath, "--upstream", outside.addr).tok,
			reason: "token route " + outside.addr + " not in tokens.allow_upstreams"},
		{desc: "signed pinned route outside allow_upstreams", tok: issueToken(t, g.ConfigPath, "--upstream", outside.addr, "--db", "1").tok,
			reason: "token route " + outside.addr + " not in tokens.allow_upstreams"},
		{desc: "signed route by host name outside allow_upstreams", tok: issueToken(t, g.ConfigPath, "--upstream", outsideName).tok,
			reason: "token route " + outsideName + " not in tokens.allow_upstreams"},
		{desc: "legacy route outside allow_upstreams", tok: legacyToken(t, outside.addr, tokLegacySecret),
			reason: "legacy token route " + outside.addr + " not in tokens.allow_upstreams"},
		{desc: "legacy route by host name outside allow_upstreams", tok: legacyToken(t, outsideName, tokLegacySecret),
			reason: "legacy token route " + outsideName + " not in tokens.allow_upstreams"},
		{desc: "legacy token made with the wrong secret", tok: legacyToken(t, b.Addr, "not-the-legacy-secret"),
			reason: "token: bad signature"},
		{desc: "legacy token without tokens.legacy_secret_env", tok: legacyToken(t, b.Addr, tokLegacySecret), gw: g2},
		{desc: "expired signed token", tok: expired.tok, reason: "token: token expired"},
		{desc: "tampered payload", tok: f[0] + "." + f[1] + "." + tamper(f[2], 10) + "." + f[3], reason: "token: bad signature"},
		{desc: "tampered signature", tok: f[0] + "." + f[1] + "." + f[2] + "." + tamper(f[3], 5), reason: "token: bad signature"},
		{desc: "tampered key id", tok: strings.Replace(good, "rdt1.k1.", "rdt1.k2.", 1), reason: "token: unknown signing key"},
		{desc: "truncated signature", tok: good[:len(good)-1], reason: "token: malformed token"},
		{desc: "signed with a key not in the config", tok: issueToken(t, writeConfig(t, otherKey.yaml()), "--tenant", "alice").tok,
			reason: "token: unknown signing key"},
		{desc: "signed with another secret under a configured key id", tok: issueToken(t, writeConfig(t, forgedK1.yaml()), "--tenant", "alice").tok,
			reason: "token: bad signature"},
		{desc: "names a tenant not in the config", tok: issueToken(t, writeConfig(t, ghost.yaml()), "--tenant", "ghost").tok,
			reason: "token names unknown tenant ghost"},
		{desc: "oversized", tok: "rdt1.k1." + strings.Repeat("A", 3000) + "." + f[3], reason: "token: token too long"},
	}
	time.Sleep(time.Until(expired.exp.Add(10 * time.Millisecond)))
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			gw, addr := g, cfg.listen
			if tc.gw != nil {
				gw, addr = tc.gw, noLegacy.listen
			}
			for _, login := range []string{respCmd("AUTH", tc.tok), respCmd("HELLO", "3", "AUTH", "default", tc.tok)} {
				from := len(gw.Log.String())
				c := dialRaw(t, addr)
				c.send(login)
				c.expect(wrongPass)
				log := gw.Log.String()[from:]
				if !strings.Contains(log, "auth_fail") || !strings.Contains(log, tc.reason) {
					t.Errorf("%.5s: log lacks auth_fail %q:\n%s", login, tc.reason, log)
				}
				assertNoSecrets(t, log, tc.tok)
				c.Close()
			}
		})
	}
	if n := outside.accepted.Load(); n != 0 {
		t.Errorf("the gateway dialed a route outside allow_upstreams %d times", n)
	}
	for _, gw := range []*Gateway{g, g2} {
		assertNoSecrets(t, gw.Log.String(), good, expired.tok, keySecret("k1"), keySecret("kx"), tokLegacySecret, tokAliceSecret)
	}
}

// TestTokenRevocation: revoking a token id, then removing a signing key,
// closes exactly the sessions of those tokens and refuses new logins.
func TestTokenRevocation(t *testing.T) {
	setTokenEnv(t, "k1", "k2")
	a, b := markedServers(t)
	cfg := tokenCfg{listen: freeAddr(t), upstreamA: a.Addr, keys: []string{"k1", "k2"},
		legacyEnv: "LEGACY_SECRET", allow: []string{b.Addr}}
	g := startGateway(t, cfg.yaml(), cfg.listen)
	byK2 := cfg
	byK2.keys = []string{"k2", "k1"}
	k2Issuer := writeConfig(t, byK2.yaml())

	revoked := issueToken(t, g.ConfigPath, "--tenant", "alice")
	k1Adhoc := issueToken(t, g.ConfigPath, "--upstream", b.Addr)
	k2Tenant := issueToken(t, k2Issuer, "--tenant", "alice")
	if k1Adhoc.kid != "k1" || k2Tenant.kid != "k2" {
		t.Fatalf("signed by %s and %s, want k1 and k2", k1Adhoc.kid, k2Tenant.kid)
	}
	legacy := legacyToken(t, b.Addr, tokLegacySecret)
	sRevoked := startPinger(t, cfg.listen, "revoked tenant token", revoked.tok)
	sK1 := startPinger(t, cfg.listen, "ad-hoc token by k1", k1Adhoc.tok)
	sK2 := startPinger(t, cfg.listen, "tenant token by k2", k2Tenant.tok)
	sStatic := startPinger(t, cfg.listen, "alice with her static secret", tokAliceSecret)
	sLegacy := startPinger(t, cfg.listen, "legacy token", legacy)

	steps := []struct {
		desc    string
		keys    []string
		closed  *pinger
		refused string // token now refused
		reason  string
		alive   []*pinger
	}{
		{desc: "token id added to tokens.revoked", keys: []string{"k1", "k2"}, closed: sRevoked,
			refused: revoked.tok, reason: "token " + revoked.id + " revoked", alive: []*pinger{sK1, sK2, sStatic, sLegacy}},
		{desc: "signing key k1 removed", keys: []string{"k2"}, closed: sK1,
			refused: k1Adhoc.tok, reason: "token: unknown signing key", alive: []*pinger{sK2, sStatic, sLegacy}},
	}
	for _, st := range steps {
		t.Run(st.desc, func(t *testing.T) {
			next := cfg
			next.keys, next.revoked = st.keys, []string{revoked.id}
			if n := reload(t, g, next.yaml()); n != 1 {
				t.Errorf("reload closed %d sessions, want 1", n)
			}
			st.closed.waitClosed(t)
			for _, p := range st.alive {
				p.checkAlive(t)
			}
			from := len(g.Log.String())
			authRaw(t, cfg.listen, "", st.refused).expect(wrongPass)
			if log := g.Log.String()[from:]; !strings.Contains(log, st.reason) {
				t.Errorf("log lacks %q:\n%s", st.reason, log)
			}
		})
	}
	assertNoSecrets(t, g.Log.String(), revoked.tok, k1Adhoc.tok, k2Tenant.tok, legacy,
		keySecret("k1"), keySecret("k2"), tokLegacySecret, tokAliceSecret)
}

// TestTokenSecretChange: unsetting or changing the legacy secret, and
// replacing a signing key's secret, end the live sessions of the tokens
// made with the old secret (docs/tokens.md: "this kills every legacy token
// at once"; a leaked key's tokens stop "at once").
func TestTokenSecretChange(t *testing.T) {
	setTokenEnv(t, "k1")
	t.Setenv("LEGACY_SECRET_NEW", "a-brand-new-legacy-secret")
	t.Setenv("TOKEN_KEY_K1_NEW", strings.Repeat("new-k1-key-", 4))
	a, b := markedServers(t)

	tests := []struct {
		desc   string
		change func(*tokenCfg)
		closed string // "legacy" or "signed"; the other two stay
	}{
		{desc: "legacy_secret_env unset", change: func(c *tokenCfg) { c.legacyEnv = "" }, closed: "legacy"},
		{desc: "legacy secret changed", change: func(c *tokenCfg) { c.legacyEnv = "LEGACY_SECRET_NEW" }, closed: "legacy"},
		{desc: "signing key k1 given a new secret", change: func(c *tokenCfg) {
			c.keyEnvs = map[string]string{"k1": "TOKEN_KEY_K1_NEW"}
		}, closed: "signed"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := tokenCfg{listen: freeAddr(t), upstreamA: a.Addr, keys: []string{"k1"},
				legacyEnv: "LEGACY_SECRET", allow: []string{b.Addr}}
			g := startGateway(t, cfg.yaml(), cfg.listen)
			toks := map[string]string{
				"legacy": legacyToken(t, b.Addr, tokLegacySecret),
				"signed": issueToken(t, g.ConfigPath, "--upstream", b.Addr).tok,
				"static": tokAliceSecret,
			}
			sessions := map[string]*pinger{}
			for kind, tok := range toks {
				sessions[kind] = startPinger(t, cfg.listen, kind, tok)
			}
			next := cfg
			tc.change(&next)
			if n := reload(t, g, next.yaml()); n != 1 {
				t.Errorf("reload closed %d sessions, want 1 (%s)", n, tc.closed)
			}
			for kind, p := range sessions {
				if kind == tc.closed {
					p.waitClosed(t)
				} else {
					p.checkAlive(t)
				}
			}
			authRaw(t, cfg.listen, "", toks[tc.closed]).expect(wrongPass)
		})
	}
}

// TestTokenKeyRotation: with keys [k2, k1], tokens signed by k1 still log
// in and new ones are signed by k2.
func TestTokenKeyRotation(t *testing.T) {
	setTokenEnv(t, "k1", "k2")
	a, _ := markedServers(t)
	cfg := tokenCfg{listen: freeAddr(t), upstreamA: a.Addr, keys: []string{"k2", "k1"}}
	g := startGateway(t, cfg.yaml(), cfg.listen)
	before := cfg
	before.keys = []string{"k1"}

	tests := []struct {
		desc, issuer, wantKid string
	}{
		{desc: "token from before the rotation (k1)", issuer: writeConfig(t, before.yaml()), wantKid: "k1"},
		{desc: "token issued with [k2, k1]", issuer: g.ConfigPath, wantKid: "k2"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			is := issueToken(t, tc.issuer, "--tenant", "alice")
			if is.kid != tc.wantKid || !strings.HasPrefix(is.tok, "rdt1."+tc.wantKid+".") {
				t.Fatalf("key %s, token %.10s..., want key %s", is.kid, is.tok, tc.wantKid)
			}
			got, err := goRedis(t, cfg.listen, is.tok).Get(context.Background(), "marker").Result()
			if err != nil || got != "A" {
				t.Fatalf("GET marker = %q, %v; want A", got, err)
			}
		})
	}
}

// TestTokenInspect: `token inspect` prints the claims, and with --config
// "verify: ok" or exits non-zero with the reason.
func TestTokenInspect(t *testing.T) {
	setTokenEnv(t, "k1", "k2")
	cfg := tokenCfg{listen: "127.0.0.1:0", upstreamA: "127.0.0.1:6379", keys: []string{"k1"}}
	path := writeConfig(t, cfg.yaml())
	onlyK2 := cfg
	onlyK2.keys = []string{"k2"}
	tn := issueToken(t, path, "--tenant", "alice")
	adhoc := issueToken(t, path, "--upstream", "10.0.0.1:6379", "--db", "2", "--role", "readonly")
	expired := issueToken(t, path, "--tenant", "alice", "--ttl", "1s")
	revokedCfg := cfg
	revokedCfg.revoked = []string{tn.id}
	tampered := tamper(tn.tok, len(tn.tok)-5) // in the signature

	tests := []struct {
		desc, tok, config string
		wantCode          int
		want, wantNot     []string // in stdout+stderr
	}{
		{desc: "tenant token verifies", tok: tn.tok, config: path,
			want: []string{`"tenant": "alice"`, `"kid": "k1"`, `"id": "` + tn.id + `"`, `"expiry"`, "verify: ok"}},
		{desc: "ad-hoc token verifies", tok: adhoc.tok, config: path,
			want: []string{`"upstream": "10.0.0.1:6379"`, `"db": 2`, `"role": "readonly"`, "verify: ok"}},
		{desc: "without --config: claims only", tok: tn.tok,
			want: []string{`"tenant": "alice"`}, wantNot: []string{"verify"}},
		{desc: "tampered signature", tok: tampered, config: path, wantCode: 1,
			want: []string{`"tenant": "alice"`, "verify: FAILED", "bad signature"}, wantNot: []string{"verify: ok"}},
		{desc: "expired", tok: expired.tok, config: path, wantCode: 1,
			want: []string{"verify: FAILED", "token expired"}, wantNot: []string{"verify: ok"}},
		{desc: "key not in the config", tok: tn.tok, config: writeConfig(t, onlyK2.yaml()), wantCode: 1,
			want: []string{"verify: FAILED", "unknown signing key"}, wantNot: []string{"verify: ok"}},
		{desc: "revoked", tok: tn.tok, config: writeConfig(t, revokedCfg.yaml()), wantCode: 1,
			want: []string{"REVOKED"}, wantNot: []string{"verify: ok"}},
		{desc: "not a token", tok: "hello", config: path, wantCode: 1,
			want: []string{"malformed token"}, wantNot: []string{"verify: ok"}},
	}
	time.Sleep(time.Until(expired.exp.Add(10 * time.Millisecond)))
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			args := []string{"token", "inspect", tc.tok}
			if tc.config != "" {
				args = append(args, "--config", tc.config)
			}
			code, out, errOut := runCLI(t, args...)
			all := out + errOut
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, tc.wantCode, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(all, w) {
					t.Errorf("output has %q:\n%s", w, all)
				}
			}
			assertNoSecrets(t, all, keySecret("k1"), keySecret("k2"))
		})
	}
}

// TestTokenCheckShortKey: `redoubt check` refuses a token key under 32
// bytes and names its key path, never its value.
func TestTokenCheckShortKey(t *testing.T) {
	tests := []struct {
		desc     string
		k1, k2   string
		wantCode int
		want     string
	}{
		{desc: "31-byte first key", k1: strings.Repeat("s", 31), k2: keySecret("k2"), wantCode: 1,
			want: "tokens.keys[0].secret_env: the key must be at least 32 bytes"},
		{desc: "31-byte second key", k1: keySecret("k1"), k2: strings.Repeat("t", 31), wantCode: 1,
			want: "tokens.keys[1].secret_env: the key must be at least 32 bytes"},
		{desc: "32-byte keys", k1: strings.Repeat("s", 32), k2: strings.Repeat("t", 32), want: ": ok"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			setTokenEnv(t)
			t.Setenv(keyEnv("k1"), tc.k1)
			t.Setenv(keyEnv("k2"), tc.k2)
			cfg := tokenCfg{listen: "127.0.0.1:0", upstreamA: "127.0.0.1:6379", keys: []string{"k1", "k2"}}
			code, out, errOut := runCLI(t, "check", "--config", writeConfig(t, cfg.yaml()))
			all := out + errOut
			if code != tc.wantCode || !strings.Contains(all, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.wantCode, tc.want, all)
			}
			assertNoSecrets(t, all, tc.k1, tc.k2)
		})
	}
}
