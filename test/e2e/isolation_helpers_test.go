package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// The isolation suite's world: one password-protected redis-server shared
// by tenants pinned to their own DBs. alice (DB 3) is the attacker and
// carol (DB 4) the neighbour; DB 0 is what an unpinned connection lands on
// (and where RESET leaves one). The same key name "shared" holds a
// different value in each DB, so any reply to GET shared tells which DB a
// connection is really in.
const (
	isoDBAlice    = 3
	isoDBCarol    = 4
	isoDBReadW    = 6 // rita, role readwrite-strict
	isoDBReadO    = 7 // rosa, role readonly
	isoDBCustom   = 8 // cora, role readonly with commands "+set"
	isoRedisPass  = "upstream-pass-0123456789"
	isoAliceValue = "alice-shared"
	isoCarolValue = "carol-shared"
	isoZeroValue  = "db0-shared"
)

// isoSecrets are the tenants' secrets, exported through the environment.
var isoSecrets = map[string]string{
	"alice": "alice-iso-secret-0123456789",
	"carol": "carol-iso-secret-0123456789",
	"rita":  "rita-iso-secret-0123456789",
	"rosa":  "rosa-iso-secret-0123456789",
	"cora":  "cora-iso-secret-0123456789",
}

// isoLeakMarkers must never appear in a reply alice receives: carol's
// values, connection names, channel prefix, and any other DB's keyspace
// line or data.
var isoLeakMarkers = []string{"carol", "db0-", "db4:", "db0:"}

// isoEnv is a running redis-server and gateway for the isolation suite.
type isoEnv struct {
	srv   *redistest.Server
	gw    *Gateway
	addr  string // the gateway's listener
	admin string // the gateway's admin endpoint (sessions listing)

	sha string // a script loaded directly on the server (for EVALSHA)

	base0, base4 map[string]string // DB 0 and DB 4 as seeded
	baseServer   string            // server-wide state as seeded
	carol        *isoConn          // a live carol session that must survive every attack
}

// startIsoEnv starts redis-server (with DEBUG and MODULE enabled, so that a
// forwarded DEBUG or MODULE would succeed and be noticed) and the gateway,
// seeds the DBs and opens carol's session.
func startIsoEnv(t *testing.T) *isoEnv {
	t.Helper()
	for name, s := range isoSecrets {
		t.Setenv(strings.ToUpper(name)+"_ISO_SECRET", s)
	}
	t.Setenv("ISO_REDIS_PASSWORD", isoRedisPass)
	e := &isoEnv{
		srv: redistest.Start(t, "--requirepass", isoRedisPass,
			"--enable-debug-command", "yes", "--enable-module-command", "yes"),
		addr:  freeAddr(t),
		admin: freeAddr(t),
	}
	cfg := fmt.Sprintf(`
listen: [{address: %s}]
admin: {address: %s}
limits: {shutdown_grace: 2s} # a session a bug left hanging must not hold up the suite
upstreams:
  shared: {address: %s, auth: {mode: password, password_env: ISO_REDIS_PASSWORD}}
tenants:
  - {name: alice, secret_env: ALICE_ISO_SECRET, upstream: shared, db: %d, role: full}
  - {name: carol, secret_env: CAROL_ISO_SECRET, upstream: shared, db: %d, role: full}
  - {name: rita, secret_env: RITA_ISO_SECRET, upstream: shared, db: %d, role: readwrite-strict}
  - {name: rosa, secret_env: ROSA_ISO_SECRET, upstream: shared, db: %d, role: readonly}
  - {name: cora, secret_env: CORA_ISO_SECRET, upstream: shared, db: %d, role: readonly, commands: "+set"}
`, e.addr, e.admin, e.srv.Addr, isoDBAlice, isoDBCarol, isoDBReadW, isoDBReadO, isoDBCustom)
	e.gw = startGateway(t, cfg, e.addr, e.admin)

	ctx := context.Background()
	z := e.direct(t, 0)
	mustOK(t, z.Set(ctx, "shared", isoZeroValue, 0).Err())
	mustOK(t, z.RPush(ctx, "zero:list", "db0-a", "db0-b").Err())
	mustOK(t, z.HSet(ctx, "zero:hash", "f", "db0-v").Err())
	c := e.direct(t, isoDBCarol)
	mustOK(t, c.Set(ctx, "shared", isoCarolValue, 0).Err())
	mustOK(t, c.Set(ctx, "carol:k", "carol-value", 0).Err())
	mustOK(t, c.RPush(ctx, "carol:list", "carol-1", "carol-2").Err())
	mustOK(t, c.ZAdd(ctx, "carol:z", redis.Z{Score: 1, Member: "carol-m"}).Err())
	// A library whose function SELECTs DB 4 and writes there: FCALL
	// through the gateway must never run it. (Run directly, it does write
	// to DB 4: functions and scripts may SELECT in Redis 7.)
	mustOK(t, z.FunctionLoad(ctx, "#!lua name=isolib\n"+
		"redis.register_function('escape', function(keys, args) redis.call('SELECT', 4) return redis.call('SET', 'escaped', 'fcall') end)\n"+
		"redis.register_function{function_name='escape_ro', callback=function(keys, args) redis.call('SELECT', 4) return redis.call('GET', 'carol:k') end, flags={'no-writes'}}").Err())
	sha, err := z.ScriptLoad(ctx, "redis.call('SELECT', 4) return redis.call('SET', 'escaped', 'evalsha')").Result()
	mustOK(t, err)
	e.sha = sha
	e.reseedAlice(t)
	e.base0 = e.snapshot(t, 0)
	e.base4 = e.snapshot(t, isoDBCarol)
	e.baseServer = e.serverState(t)
	e.carol = e.dial(t, "carol")
	return e
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// direct is a go-redis client on the server itself, bypassing the gateway.
func (e *isoEnv) direct(t testing.TB, db int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: e.srv.Addr, Password: isoRedisPass, DB: db,
		Protocol: 2, DisableIdentity: true, DialTimeout: 5 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// isoAliceKeys is what alice's DB holds after reseedAlice.
var isoAliceKeys = []string{"a", "ah", "alist", "b", "mv", "shared"}

// reseedAlice puts alice's DB back into its known state.
func (e *isoEnv) reseedAlice(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	a := e.direct(t, isoDBAlice)
	mustOK(t, a.FlushDB(ctx).Err())
	mustOK(t, a.Set(ctx, "shared", isoAliceValue, 0).Err())
	mustOK(t, a.MSet(ctx, "a", "va", "b", "vb", "mv", "to-move").Err())
	mustOK(t, a.RPush(ctx, "alist", "x", "y").Err())
	mustOK(t, a.HSet(ctx, "ah", "f", "v").Err())
	a.Close()
}

// snapshot is every key of one DB with its type, serialized value and
// whether it expires: any write, move or flush changes it.
func (e *isoEnv) snapshot(t testing.TB, db int) map[string]string {
	t.Helper()
	ctx := context.Background()
	c := e.direct(t, db)
	defer c.Close()
	keys, err := c.Keys(ctx, "*").Result()
	mustOK(t, err)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		d, err := c.Dump(ctx, k).Result()
		mustOK(t, err)
		ttl, err := c.PTTL(ctx, k).Result()
		mustOK(t, err)
		out[k] = fmt.Sprintf("%q ttl=%v", d, ttl > 0)
	}
	return out
}

// serverState fingerprints what is server-wide: configuration, role,
// persistence counters, users, functions, cached scripts and modules.
func (e *isoEnv) serverState(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	c := e.direct(t, 0)
	defer c.Close()
	var b strings.Builder
	for _, p := range []string{"maxmemory", "maxmemory-policy", "notify-keyspace-events", "appendonly",
		"save", "dir", "dbfilename", "slowlog-log-slower-than", "latency-monitor-threshold", "maxclients",
		"replica-read-only", "requirepass", "lazyfree-lazy-user-flush"} {
		v, err := c.ConfigGet(ctx, p).Result()
		mustOK(t, err)
		fmt.Fprintf(&b, "%s=%q\n", p, v[p])
	}
	info, err := c.Info(ctx, "replication", "persistence").Result()
	mustOK(t, err)
	for _, l := range strings.Split(info, "\r\n") {
		for _, f := range []string{"role:", "connected_slaves:", "rdb_saves:", "aof_rewrites:",
			"aof_enabled:", "rdb_bgsave_in_progress:", "aof_rewrite_in_progress:", "master_failover_state:"} {
			if strings.HasPrefix(l, f) {
				b.WriteString(l + "\n")
			}
		}
	}
	acl, err := c.Do(ctx, "ACL", "LIST").StringSlice()
	mustOK(t, err)
	fmt.Fprintf(&b, "acl=%q\n", acl)
	libs, err := c.FunctionList(ctx, redis.FunctionListQuery{}).Result()
	mustOK(t, err)
	for _, l := range libs {
		fmt.Fprintf(&b, "lib=%s fns=%d\n", l.Name, len(l.Functions))
	}
	ex, err := c.ScriptExists(ctx, e.sha).Result()
	mustOK(t, err)
	fmt.Fprintf(&b, "script=%v\n", ex)
	mods, err := c.Do(ctx, "MODULE", "LIST").Slice()
	mustOK(t, err)
	fmt.Fprintf(&b, "modules=%d\n", len(mods))
	return b.String()
}

// verifyUntouched is the evidence after every attack: DB 0 and carol's DB
// are exactly as seeded, the server-wide state is unchanged, the server
// is up, and carol's session still works in her own DB.
func (e *isoEnv) verifyUntouched(t *testing.T) {
	t.Helper()
	if got := e.snapshot(t, 0); !mapsEqual(got, e.base0) {
		t.Errorf("DB 0 changed:\n got %v\nwant %v", got, e.base0)
	}
	if got := e.snapshot(t, isoDBCarol); !mapsEqual(got, e.base4) {
		t.Errorf("carol's DB 4 changed:\n got %v\nwant %v", got, e.base4)
	}
	if got := e.serverState(t); got != e.baseServer {
		t.Errorf("server-wide state changed:\n got %s\nwant %s", got, e.baseServer)
	}
	if r := e.carol.with(t).do("GET", "shared"); r.str != isoCarolValue {
		t.Errorf("carol's session: GET shared = %s, want %q", r, isoCarolValue)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// upstreamID is the upstream CLIENT ID of the one connection the gateway
// opened for a tenant, from the gateway's sessions listing (the gateway
// leaves connection names to the clients).
func (e *isoEnv) upstreamID(t testing.TB, tenant string) string {
	t.Helper()
	ids := e.tenantIDs(t, tenant)
	if len(ids) != 1 {
		t.Fatalf("want one upstream connection of %s, got %v", tenant, ids)
	}
	for id := range ids {
		return id
	}
	return ""
}

// tenantIDs are the upstream CLIENT IDs of a tenant's live sessions, from
// the gateway's sessions listing.
func (e *isoEnv) tenantIDs(t testing.TB, tenant string) map[string]bool {
	t.Helper()
	res, err := http.Get("http://" + e.admin + "/sessions")
	mustOK(t, err)
	defer res.Body.Close()
	var list []struct {
		Tenant           string `json:"tenant"`
		UpstreamClientID int64  `json:"upstream_client_id"`
	}
	mustOK(t, json.NewDecoder(res.Body).Decode(&list))
	ids := map[string]bool{}
	for _, s := range list {
		if s.Tenant == tenant && s.UpstreamClientID > 0 {
			ids[strconv.FormatInt(s.UpstreamClientID, 10)] = true
		}
	}
	return ids
}

// ownedBy reports whether every line of a CLIENT LIST reply is one of the
// tenant's connections.
func (e *isoEnv) ownedBy(t testing.TB, list, tenant string) bool {
	ids := e.tenantIDs(t, tenant)
	for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
		if !ids[clientField(l, "id")] {
			return false
		}
	}
	return true
}

// dial opens a raw session for a tenant (AUTH name secret). alice's
// sessions check every reply for leak markers.
func (e *isoEnv) dial(t testing.TB, tenant string) *isoConn {
	t.Helper()
	c := isoDialRaw(t, e.addr)
	if tenant == "alice" {
		c.forbid = isoLeakMarkers
	}
	if r := c.do("AUTH", tenant, isoSecrets[tenant]); r.raw != "+OK\r\n" {
		t.Fatalf("AUTH %s: %s", tenant, r)
	}
	return c
}

// dialGoRedis is a go-redis client for a tenant through the gateway.
func (e *isoEnv) dialGoRedis(t testing.TB, tenant string, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: e.addr, Username: tenant, Password: isoSecrets[tenant],
		Protocol: proto, DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// isoConn is a raw RESP connection with a reply parser, for byte-exact
// pipelines and replies.
type isoConn struct {
	t      testing.TB
	c      net.Conn
	br     *bufio.Reader
	forbid []string
}

func isoDialRaw(t testing.TB, addr string) *isoConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &isoConn{t: t, c: c, br: bufio.NewReader(c)}
}

// with returns the connection bound to another (sub)test, so failures are
// reported, and FailNow called, on the goroutine of the test using it.
func (c *isoConn) with(t testing.TB) *isoConn {
	cp := *c
	cp.t = t
	return &cp
}

// isoCmd encodes a command as a RESP array of bulk strings.
func isoCmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// write sends commands in a single write: a pipeline.
func (c *isoConn) write(cmds ...[]string) {
	c.t.Helper()
	var b strings.Builder
	for _, a := range cmds {
		b.WriteString(isoCmd(a...))
	}
	c.writeRaw(b.String())
}

func (c *isoConn) writeRaw(s string) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read reads one reply (failing the test after 10 s without one).
func (c *isoConn) read() isoReply {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := isoParse(c.br)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	for _, m := range c.forbid {
		if strings.Contains(r.raw, m) {
			c.t.Errorf("LEAK: reply contains %q: %.400q", m, r.raw)
		}
	}
	return r
}

func (c *isoConn) do(args ...string) isoReply {
	c.t.Helper()
	c.write(args)
	return c.read()
}

// isoReply is one parsed reply and its exact bytes.
type isoReply struct {
	raw   string
	typ   byte
	str   string // simple, error, bulk, verbatim (with its "txt:" prefix), number text
	null  bool
	elems []isoReply // aggregates; a map's keys and values alternate
}

func (r isoReply) String() string { return fmt.Sprintf("%.300q", r.raw) }

func (r isoReply) isErr() bool { return r.typ == '-' || r.typ == '!' }

// strs returns an aggregate's elements as strings.
func (r isoReply) strs() []string {
	out := make([]string, len(r.elems))
	for i, e := range r.elems {
		out[i] = e.str
	}
	return out
}

// isoParse reads one RESP2/RESP3 reply. An attribute is kept in raw and
// the reply it annotates returned.
func isoParse(br *bufio.Reader) (isoReply, error) {
	var raw strings.Builder
	r, err := isoParseInto(br, &raw)
	r.raw = raw.String()
	return r, err
}

func isoParseInto(br *bufio.Reader, raw *strings.Builder) (isoReply, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return isoReply{}, err
	}
	raw.WriteString(line)
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return isoReply{}, fmt.Errorf("bad reply line %q", line)
	}
	r := isoReply{typ: line[0], str: line[1 : len(line)-2]}
	switch r.typ {
	case '+', '-', ':', ',', '(', '#':
		return r, nil
	case '_':
		r.null = true
		return r, nil
	case '$', '=', '!':
		n, err := strconv.Atoi(r.str)
		if err != nil {
			return r, err
		}
		if n < 0 {
			r.null, r.str = true, ""
			return r, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return r, err
		}
		raw.Write(buf)
		r.str = string(buf[:n])
		return r, nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(r.str)
		if err != nil {
			return r, err
		}
		if n < 0 {
			r.null, r.str = true, ""
			return r, nil
		}
		if r.typ == '%' || r.typ == '|' {
			n *= 2
		}
		r.str = ""
		for range n {
			e, err := isoParseInto(br, raw)
			if err != nil {
				return r, err
			}
			r.elems = append(r.elems, e)
		}
		if r.typ == '|' {
			return isoParseInto(br, raw)
		}
		return r, nil
	}
	return r, fmt.Errorf("unknown reply type %q", line)
}

// isoMatch is an expectation on one reply.
type isoMatch struct {
	desc    string
	refused bool // an error: inside MULTI it dooms the transaction
	ok      func(isoReply) bool
}

func (m isoMatch) check(t *testing.T, what string, r isoReply) {
	t.Helper()
	if !m.ok(r) {
		t.Errorf("%s: got %s, want %s", what, r, m.desc)
	}
}

// isoNoPerm is the gateway's refusal, which names the command.
func isoNoPerm(name string) isoMatch {
	p := "NOPERM this user has no permissions to run the '" + name + "' command"
	return isoMatch{desc: "-" + p + "...", refused: true, ok: func(r isoReply) bool {
		return r.typ == '-' && strings.HasPrefix(r.str, p)
	}}
}

// isoError is any error starting with prefix.
func isoError(prefix string) isoMatch {
	return isoMatch{desc: "-" + prefix + "...", refused: true, ok: func(r isoReply) bool {
		return r.typ == '-' && strings.HasPrefix(r.str, prefix)
	}}
}

func isoStatus(s string) isoMatch {
	return isoMatch{desc: "+" + s, ok: func(r isoReply) bool { return r.typ == '+' && r.str == s }}
}

func isoInt(n int64) isoMatch {
	return isoMatch{desc: ":" + strconv.FormatInt(n, 10), ok: func(r isoReply) bool {
		return r.typ == ':' && r.str == strconv.FormatInt(n, 10)
	}}
}

func isoBulk(s string) isoMatch {
	return isoMatch{desc: strconv.Quote(s), ok: func(r isoReply) bool { return r.typ == '$' && !r.null && r.str == s }}
}

func isoNil() isoMatch {
	return isoMatch{desc: "nil", ok: func(r isoReply) bool { return r.null }}
}

// isoStrSet is an array holding exactly these strings, in any order.
func isoStrSet(want ...string) isoMatch {
	w := slices.Sorted(slices.Values(want))
	return isoMatch{desc: fmt.Sprintf("array %q", w), ok: func(r isoReply) bool {
		return (r.typ == '*' || r.typ == '~') && slices.Equal(slices.Sorted(slices.Values(r.strs())), w)
	}}
}

// isoOneOf is a bulk string among these.
func isoOneOf(want ...string) isoMatch {
	return isoMatch{desc: fmt.Sprintf("one of %q", want), ok: func(r isoReply) bool {
		return r.typ == '$' && slices.Contains(want, r.str)
	}}
}

func isoFunc(desc string, ok func(isoReply) bool) isoMatch { return isoMatch{desc: desc, ok: ok} }

// infoInt reads one numeric field of the server's INFO directly.
func (e *isoEnv) infoInt(t testing.TB, section, field string) int64 {
	t.Helper()
	c := e.direct(t, 0)
	defer c.Close()
	info, err := c.Info(context.Background(), section).Result()
	mustOK(t, err)
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			mustOK(t, err)
			return n
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, field, info)
	return 0
}

// clientLines returns the server's own CLIENT LIST lines that contain
// every one of the given substrings.
func (e *isoEnv) clientLines(t testing.TB, subs ...string) []string {
	t.Helper()
	c := e.direct(t, 0)
	defer c.Close()
	list, err := c.ClientList(context.Background()).Result()
	mustOK(t, err)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

// clientField returns field=value's value in a CLIENT LIST line.
func clientField(line, field string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, field+"="); ok {
			return v
		}
	}
	return ""
}

// expectRaw reads one reply and requires its exact bytes.
func (c *isoConn) expectRaw(want string) {
	c.t.Helper()
	if r := c.read(); r.raw != want {
		c.t.Errorf("got %q, want %q", r.raw, want)
	}
}
