package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// The randomized reply-order test. Random pipelines mix every subscription
// command (with and without names, all three kinds), PUBLISH, RESET, HELLO
// 2 and 3, transactions (committed, discarded, doomed by a refusal), refused
// commands, INFO and CLIENT LIST (filtered), and data commands, including
// LRANGE of lists that look like pub/sub messages and confirmations. The
// same pipeline goes through the gateway as alice (DB 3) and straight to
// redis-server (DB 5).
//
// Every request is tagged: a PING with a unique marker follows it (a
// transaction is tagged as a whole, since inside one a PING only answers
// +QUEUED). The direct connection says how many replies belong to each
// request; the gateway must send the same number before the same marker,
// and each reply must be the direct one byte for byte, except where the
// gateway differs by design: its refusals (any error, where the direct side
// ran an unknown command), INFO and CLIENT LIST (checked to show DB 3
// only), HELLO (same type; connection ids differ). A reply in another
// request's place fails at once, and a filtered one in the wrong place
// shows other DBs.

// roReq is one request of a pipeline and how its replies compare.
type roReq struct {
	gw, direct []string
	// check: 'x' exact, 'i' INFO, 'c' CLIENT LIST, 'h' HELLO, 'r' refused,
	// 'R' RESET, 'U' UNSUBSCRIBE without names (Redis walks a hash table,
	// and prefixed names hash differently: the same names in any order)
	check byte
}

// roUnit is a tagged unit: one request, or a transaction whose requests
// have one reply each.
type roUnit struct {
	reqs []roReq
	tag  string
}

func TestReplyOrderRandomPipelines(t *testing.T) {
	e := startIsoEnv(t)
	seeds := diffSeeds(t)
	pipelines := 2000 / (2 * len(seeds))
	for _, proto := range []int{2, 3} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("RESP%d seed %d", proto, seed), func(t *testing.T) {
				t.Logf("seed %d (rerun: REDOUBT_DIFF_SEED=%d go test -run ReplyOrderRandom ./test/e2e/)", seed, seed)
				runReplyOrder(t, e, proto, seed, pipelines)
			})
		}
	}
}

func runReplyOrder(t *testing.T, e *isoEnv, proto int, seed uint64, pipelines int) {
	ctx := context.Background()
	mustOK(t, e.direct(t, isoDBAlice).FlushDB(ctx).Err())
	mustOK(t, e.direct(t, diffDB).FlushDB(ctx).Err())
	defer e.reseedAlice(t)
	for _, db := range []int{isoDBAlice, diffDB} {
		c := e.direct(t, db)
		mustOK(t, c.RPush(ctx, "looks:msg", "message", "a", "x").Err())
		mustOK(t, c.RPush(ctx, "looks:pmsg", "pmessage", "a*", "a", "x").Err())
		mustOK(t, c.RPush(ctx, "looks:sub", "subscribe", "a", "1").Err())
		mustOK(t, c.RPush(ctx, "looks:unsub", "unsubscribe", "b", "0").Err())
	}

	gw := e.dial(t, "alice")
	dir := isoDialRaw(t, e.srv.Addr)
	dirLogin := [][]string{{"AUTH", isoRedisPass}, {"SELECT", strconv.Itoa(diffDB)}}
	for _, c := range dirLogin {
		isoStatus("OK").check(t, "direct "+c[0], dir.do(c...))
	}
	if proto == 3 {
		for _, c := range []*isoConn{gw, dir} {
			if r := c.do("HELLO", "3"); r.typ != '%' {
				t.Fatalf("HELLO 3: %s", r)
			}
		}
	}

	rng := rand.New(rand.NewPCG(seed, uint64(proto)))
	tags, stats := 0, map[string]int{}
	for p := range pipelines {
		var units []roUnit
		for range 1 + rng.IntN(8) {
			u := roRandomUnit(rng, stats)
			tags++
			u.tag = fmt.Sprintf("mark-%d", tags)
			units = append(units, u)
		}
		var gwCmds, dirCmds [][]string
		for _, u := range units {
			for _, r := range u.reqs {
				gwCmds, dirCmds = append(gwCmds, r.gw), append(dirCmds, r.direct)
				if r.check == 'R' {
					dirCmds = append(dirCmds, dirLogin...) // RESET logged the direct side out
				}
			}
			gwCmds, dirCmds = append(gwCmds, []string{"PING", u.tag}), append(dirCmds, []string{"PING", u.tag})
		}
		gw.write(gwCmds...)
		dir.write(dirCmds...)
		for i, u := range units {
			what := fmt.Sprintf("seed %d pipeline %d unit %d %q", seed, p, i, roDescribe(u))
			d := roReadTagged(t, dir, u.tag, what+" (direct)")
			g := roReadTagged(t, gw, u.tag, what+" (gateway)")
			roCompare(t, u, g, d, what)
		}
	}
	t.Logf("%d pipelines, %d tagged units: %v", pipelines, tags, stats)
	e.verifyUntouched(t)
}

// roReadTagged reads replies up to the unit's marker and returns them
// without it.
func roReadTagged(t *testing.T, c *isoConn, tag, what string) []isoReply {
	t.Helper()
	var out []isoReply
	for {
		r := c.with(t).read()
		if r.typ == '$' && r.str == tag || r.typ == '*' && len(r.elems) == 2 && r.elems[0].str == "pong" && r.elems[1].str == tag {
			return out
		}
		if len(out) > 64 {
			t.Fatalf("%s: no marker %s after %d replies", what, tag, len(out))
		}
		out = append(out, r)
	}
}

func roCompare(t *testing.T, u roUnit, g, d []isoReply, what string) {
	t.Helper()
	if u.reqs[0].check == 'R' && len(d) >= 3 && d[0].raw == "+RESET\r\n" {
		d = d[:1] // the direct side's login after RESET
	}
	if len(g) != len(d) {
		t.Fatalf("%s: %d replies through the gateway, %d direct\ngateway: %v\ndirect:  %v", what, len(g), len(d), g, d)
	}
	if u.reqs[0].check == 'U' {
		roSameUnsubs(t, g, d, what)
		return
	}
	for i := range g {
		req := u.reqs[0]
		if len(u.reqs) > 1 {
			if len(g) != len(u.reqs) {
				t.Fatalf("%s: a transaction of %d requests got %d replies", what, len(u.reqs), len(g))
			}
			req = u.reqs[i]
		}
		gr, dr := g[i], d[i]
		ok := true
		switch {
		case dr.isErr() || req.check == 'r':
			ok = gr.isErr() && dr.isErr()
		case req.check == 'i':
			ok = isoInfoOwn(isoDBAlice).ok(gr)
		case req.check == 'c':
			ok = isoClientListOwn(isoDBAlice).ok(gr)
		case req.check == 'h':
			ok = gr.typ == dr.typ
		default:
			ok = gr.raw == dr.raw
		}
		if !ok {
			t.Fatalf("%s: reply %d differs\ngateway: %s\ndirect:  %s", what, i, gr, dr)
		}
	}
}

// roSameUnsubs compares the confirmations of an UNSUBSCRIBE without names:
// the same kinds and falling counts in order, the same names in any order.
func roSameUnsubs(t *testing.T, g, d []isoReply, what string) {
	t.Helper()
	names := map[string]int{}
	for i := range g {
		gr, dr := g[i], d[i]
		if gr.typ != dr.typ || len(gr.elems) != 3 || len(dr.elems) != 3 || gr.elems[0].raw != dr.elems[0].raw || gr.elems[2].raw != dr.elems[2].raw {
			t.Fatalf("%s: confirmation %d differs\ngateway: %s\ndirect:  %s", what, i, gr, dr)
		}
		names[gr.elems[1].raw]++
		names[dr.elems[1].raw]--
	}
	for n, c := range names {
		if c != 0 {
			t.Fatalf("%s: the gateway and the direct side unsubscribed different names (%q: %d)\ngateway: %v\ndirect:  %v", what, n, c, g, d)
		}
	}
}

func roDescribe(u roUnit) string {
	var parts []string
	for _, r := range u.reqs {
		s := strings.Join(r.gw, " ")
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

var (
	roChannels = []string{"a", "b", "c"}
	roPatterns = []string{"a*", "b*", "c?"}
)

func roNames(rng *rand.Rand, from []string, min int) []string {
	var out []string
	for range min + rng.IntN(3) {
		out = append(out, from[rng.IntN(len(from))])
	}
	return out
}

// roRandomUnit is one tagged unit; stats counts what was generated.
func roRandomUnit(rng *rand.Rand, stats map[string]int) roUnit {
	same := func(check byte, args ...string) roReq { return roReq{gw: args, direct: args, check: check} }
	one := func(kind string, r roReq) roUnit { stats[kind]++; return roUnit{reqs: []roReq{r}} }
	switch p := rng.IntN(100); {
	case p < 30: // subscription changes, with and without names
		sub := []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"}[rng.IntN(3)]
		names := roChannels
		if sub == "PSUBSCRIBE" {
			names = roPatterns
		}
		if rng.IntN(2) == 0 {
			return one(strings.ToLower(sub), same('x', append([]string{sub}, roNames(rng, names, 1)...)...))
		}
		unsub := "UN" + sub
		if sub != "SUBSCRIBE" {
			unsub = sub[:1] + "UN" + sub[1:]
		}
		if rng.IntN(2) == 0 {
			return one(strings.ToLower(unsub)+" all", same('U', unsub))
		}
		return one(strings.ToLower(unsub), same('x', append([]string{unsub}, roNames(rng, names, 1)...)...))
	case p < 36:
		ch := roChannels[rng.IntN(len(roChannels))]
		if rng.IntN(3) == 0 {
			return one("spublish", same('x', "SPUBLISH", ch, "m"))
		}
		return one("publish", same('x', "PUBLISH", ch, "m"))
	case p < 39:
		return one("pubsub numsub", same('x', "PUBSUB", "NUMSUB", "a", "b"))
	case p < 43:
		return one("reset", same('R', "RESET"))
	case p < 47:
		return one("hello", same('h', "HELLO", []string{"2", "3"}[rng.IntN(2)]))
	case p < 53:
		return one("info", same('i', "INFO", []string{"keyspace", "all", "everything"}[rng.IntN(3)]))
	case p < 58:
		return one("client list", same('c', "CLIENT", "LIST"))
	case p < 65:
		d := diffRefused(rng)
		return one("refused", roReq{gw: d.gw, direct: d.direct, check: 'r'})
	case p < 73:
		return one("looks like pub/sub", same('x', "LRANGE", []string{"looks:msg", "looks:pmsg", "looks:sub", "looks:unsub"}[rng.IntN(4)], "0", "-1"))
	case p < 85: // a transaction
		stats["multi"]++
		u := roUnit{reqs: []roReq{same('x', "MULTI")}}
		for range 1 + rng.IntN(4) {
			switch q := rng.IntN(10); {
			case q < 5:
				u.reqs = append(u.reqs, same('x', diffData(rng)...))
			case q < 7:
				d := diffRefused(rng)
				u.reqs = append(u.reqs, roReq{gw: d.gw, direct: d.direct, check: 'r'})
			case q < 8: // refused inside MULTI on a shared upstream
				u.reqs = append(u.reqs, roReq{gw: []string{"INFO", "keyspace"}, direct: []string{"REDOUBTREFUSED"}, check: 'r'})
			case q < 9:
				u.reqs = append(u.reqs, roReq{gw: []string{"SUBSCRIBE", "a"}, direct: []string{"REDOUBTREFUSED"}, check: 'r'})
			default:
				u.reqs = append(u.reqs, same('x', "LRANGE", "looks:msg", "0", "-1"))
			}
		}
		if rng.IntN(4) == 0 {
			u.reqs = append(u.reqs, same('x', "DISCARD"))
		} else {
			u.reqs = append(u.reqs, same('x', "EXEC"))
		}
		return u
	default:
		return one("data", same('x', diffData(rng)...))
	}
}
