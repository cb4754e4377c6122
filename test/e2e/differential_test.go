package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential test: the same random pipelines go through the gateway
// as alice (DB 3) and straight to redis-server on DB 5, both starting
// empty, and must get byte-identical replies, in RESP2 and RESP3. The
// stream mixes in commands the gateway refuses; the direct side gets an
// unknown command in their place, which redis-server answers with an error
// and which dooms a transaction just as a refusal does. So refusals must
// come back in place and leave every other reply identical, EXECABORT
// included.

const diffDB = 5

// diffCmd is one command of the stream: what alice sends, what the direct
// connection sends, and whether the gateway must refuse it.
type diffCmd struct {
	gw, direct []string
	refused    string // the refused command's name in the NOPERM error
}

// diffSeeds are a fixed seed and a fresh one, or REDOUBT_DIFF_SEED alone.
func diffSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("REDOUBT_DIFF_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		mustOK(t, err)
		return []uint64{n}
	}
	return []uint64{1, uint64(time.Now().UnixNano())}
}

func TestDifferentialPipelines(t *testing.T) {
	e := startIsoEnv(t)
	seeds := diffSeeds(t)
	for _, proto := range []int{2, 3} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("RESP%d seed %d", proto, seed), func(t *testing.T) {
				t.Logf("seed %d (rerun: REDOUBT_DIFF_SEED=%d go test -run Differential ./test/e2e/)", seed, seed)
				runDifferential(t, e, proto, seed, 300)
			})
		}
	}
}

func runDifferential(t *testing.T, e *isoEnv, proto int, seed uint64, n int) {
	ctx := context.Background()
	mustOK(t, e.direct(t, isoDBAlice).FlushDB(ctx).Err())
	mustOK(t, e.direct(t, diffDB).FlushDB(ctx).Err())
	defer e.reseedAlice(t)

	gw := e.dial(t, "alice")
	dir := isoDialRaw(t, e.srv.Addr)
	isoStatus("OK").check(t, "direct AUTH", dir.do("AUTH", isoRedisPass))
	isoStatus("OK").check(t, "direct SELECT", dir.do("SELECT", strconv.Itoa(diffDB)))
	if proto == 3 {
		// The HELLO replies differ (connection ids); both must be maps.
		for _, c := range []*isoConn{gw, dir} {
			if r := c.do("HELLO", "3"); r.typ != '%' {
				t.Fatalf("HELLO 3: %s", r)
			}
		}
	}

	rng := rand.New(rand.NewPCG(seed, uint64(proto)))
	stream := diffStream(rng, n)
	refused, multis := 0, 0
	for _, c := range stream {
		if c.refused != "" {
			refused++
		}
		if c.gw[0] == "MULTI" {
			multis++
		}
	}
	t.Logf("%d commands, %d refused, %d MULTI", len(stream), refused, multis)
	for start := 0; start < len(stream); {
		end := min(len(stream), start+1+rng.IntN(40))
		batch := stream[start:end]
		var gwCmds, dirCmds [][]string
		for _, c := range batch {
			gwCmds, dirCmds = append(gwCmds, c.gw), append(dirCmds, c.direct)
		}
		gw.write(gwCmds...)
		dir.write(dirCmds...)
		for i, c := range batch {
			g, d := gw.read(), dir.read()
			what := fmt.Sprintf("seed %d, command %d %.80q", seed, start+i, strings.Join(c.gw, " "))
			if c.refused != "" {
				isoNoPerm(c.refused).check(t, what, g)
				if !d.isErr() {
					t.Fatalf("%s: direct placeholder got %s", what, d)
				}
				continue
			}
			if g.raw != d.raw {
				t.Fatalf("%s: replies differ\ngateway: %.300q\ndirect:  %.300q", what, g.raw, d.raw)
			}
		}
		start = end
	}
	// The end states agree too (a last check that nothing diverged
	// silently, e.g. a write the gateway dropped without a visible reply).
	a, b := e.snapshot(t, isoDBAlice), e.snapshot(t, diffDB)
	if !mapsEqual(a, b) {
		t.Errorf("DB 3 and DB 5 differ after the run:\nDB 3: %v\nDB 5: %v", a, b)
	}
	e.verifyUntouched(t)
}

// diffStream generates n commands: data commands on a few keys of every
// type (so WRONGTYPE and other errors happen naturally), transactions
// (some doomed, some discarded), wrong arities, and refused commands.
func diffStream(rng *rand.Rand, n int) []diffCmd {
	var out []diffCmd
	inMulti := false
	same := func(args ...string) diffCmd { return diffCmd{gw: args, direct: args} }
	for len(out) < n {
		switch p := rng.IntN(100); {
		case p < 7:
			if !inMulti {
				out = append(out, same("MULTI"))
			} else if rng.IntN(5) == 0 {
				out = append(out, same("DISCARD"))
			} else {
				out = append(out, same("EXEC"))
			}
			inMulti = !inMulti
		case p < 8:
			// Stray transaction commands: EXEC without MULTI, nested MULTI.
			out = append(out, same([]string{"EXEC", "DISCARD", "MULTI"}[rng.IntN(3)]))
			if out[len(out)-1].gw[0] == "MULTI" {
				inMulti = true
			} else {
				inMulti = false
			}
		case p < 15:
			out = append(out, diffRefused(rng))
		case p < 18:
			out = append(out, diffEquivalent(rng))
		default:
			out = append(out, same(diffData(rng)...))
		}
	}
	if inMulti {
		out = append(out, same("EXEC"))
	}
	return out
}

// diffRefused is a command the gateway refuses for alice; the direct side
// gets an unknown command instead.
func diffRefused(rng *rand.Rand) diffCmd {
	all := []struct {
		name string
		args []string
	}{
		{"config|get", []string{"CONFIG", "GET", "maxmemory"}},
		{"select", []string{"SELECT", "0"}},
		{"select", []string{"SELECT", "4"}},
		{"eval", []string{"EVAL", "return 1", "0"}},
		{"swapdb", []string{"SWAPDB", "3", "4"}},
		{"move", []string{"MOVE", diffKey(rng), "4"}},
		{"copy", []string{"COPY", diffKey(rng), diffKey(rng), "DB", "4"}},
		{"client|kill", []string{"CLIENT", "KILL", "TYPE", "pubsub"}},
		{"debug", []string{"DEBUG", "SLEEP", "0"}},
	}
	c := all[rng.IntN(len(all))]
	return diffCmd{gw: c.args, direct: []string{"REDOUBTREFUSED"}, refused: c.name}
}

// diffEquivalent is a command the gateway changes, with what it must
// amount to on the direct side.
func diffEquivalent(rng *rand.Rand) diffCmd {
	switch rng.IntN(4) {
	case 0:
		return diffCmd{gw: []string{"SELECT", strconv.Itoa(isoDBAlice)}, direct: []string{"SELECT", strconv.Itoa(diffDB)}}
	case 1:
		if rng.IntN(4) == 0 { // rare: it empties the DB
			return diffCmd{gw: []string{"FLUSHALL"}, direct: []string{"FLUSHDB"}}
		}
	}
	// Large values take the relay's path for big commands.
	big := strings.Repeat(string(rune('a'+rng.IntN(26))), 64*1024+rng.IntN(64*1024))
	set := []string{"SET", diffKey(rng), big}
	return diffCmd{gw: set, direct: set}
}

var diffKeys = []string{"k0", "k1", "k2", "k3", "k4", "k5"}

func diffKey(rng *rand.Rand) string { return diffKeys[rng.IntN(len(diffKeys))] }

func diffVal(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		return strconv.Itoa(rng.IntN(200) - 50)
	}
	return []string{"a", "b", "c", "hello", "x y", "", "\r\n", "ü"}[rng.IntN(8)]
}

func diffNum(rng *rand.Rand) string { return strconv.Itoa(rng.IntN(21) - 10) }

// diffData is one data command with deterministic replies.
func diffData(rng *rand.Rand) []string {
	k, k2, v, f := diffKey(rng), diffKey(rng), diffVal(rng), "f"+strconv.Itoa(rng.IntN(3))
	cmds := [][]string{
		{"SET", k, v}, {"SET", k, v, "NX"}, {"SET", k, v, "XX", "GET"}, {"GET", k}, {"APPEND", k, v},
		{"STRLEN", k}, {"INCR", k}, {"INCRBY", k, diffNum(rng)}, {"DECR", k}, {"GETRANGE", k, "0", "2"},
		{"SETRANGE", k, "1", v}, {"MSET", k, v, k2, v}, {"MGET", k, k2, "nokey"}, {"GETDEL", k}, {"SETNX", k, v},
		{"DEL", k, k2}, {"EXISTS", k, k2}, {"TYPE", k}, {"EXPIRE", k, "1000"}, {"PERSIST", k}, {"RENAME", k, k2},
		{"COPY", k, k2}, {"DBSIZE"}, {"PING"}, {"ECHO", v},
		{"RPUSH", k, v, v}, {"LPUSH", k, v}, {"LPOP", k}, {"RPOP", k, "2"}, {"LRANGE", k, "0", "-1"}, {"LLEN", k},
		{"LINDEX", k, "1"}, {"LSET", k, "0", v}, {"LREM", k, "1", v}, {"LINSERT", k, "BEFORE", v, "ins"},
		{"BLPOP", k, "0.01"},
		{"HSET", k, f, v, "f9", v}, {"HGET", k, f}, {"HDEL", k, f}, {"HGETALL", k}, {"HLEN", k},
		{"HINCRBY", k, f, diffNum(rng)}, {"HEXISTS", k, f}, {"HKEYS", k}, {"HMGET", k, f, "f9"},
		{"SADD", k, v, diffVal(rng)}, {"SREM", k, v}, {"SISMEMBER", k, v}, {"SCARD", k}, {"SMEMBERS", k},
		{"SINTER", k, k2},
		{"ZADD", k, diffNum(rng), v}, {"ZINCRBY", k, diffNum(rng), v}, {"ZSCORE", k, v},
		{"ZRANGE", k, "0", "-1", "WITHSCORES"}, {"ZREM", k, v}, {"ZCARD", k}, {"ZRANK", k, v},
		{"ZRANGEBYSCORE", k, "-inf", "+inf"}, {"ZCOUNT", k, "0", "5"},
		{"WATCH", k}, {"UNWATCH"},
		// Errors: arity, syntax, bad numbers, unknown commands.
		{"GET"}, {"SET", k}, {"SET", k, v, "EX", "0"}, {"ZADD", k, "notanumber", v}, {"INCRBY", k, "x"},
		{"NOSUCHCMD", k}, {"CLIENT", "NOSUCH"}, {"LSET", "nokey", "0", v},
	}
	return cmds[rng.IntN(len(cmds))]
}
