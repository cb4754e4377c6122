package limit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// QuotaTarget is one DB-pinned tenant with a quota, as the sampler sees it.
type QuotaTarget struct {
	Tenant string
	// Upstream names the server: tenants on one server share one sampling
	// connection and one INFO keyspace per round.
	Upstream string
	DB       int
	// Dial opens a logged-in connection to the upstream (any DB).
	Dial func(ctx context.Context) (net.Conn, error)
}

// memorySamples is how many random keys MEMORY USAGE measures per tenant
// and round; the estimate is their mean size times the key count.
const memorySamples = 16

// sampleTimeout bounds one upstream's round, dial included.
const sampleTimeout = 5 * time.Second

// RunSampler samples the quotas of targets() every interval() until ctx
// ends; both are asked again every round, so a reload takes effect.
//
// Keys come from INFO keyspace: one command per upstream per round, O(number
// of DBs) on the server, and exact at the moment it runs. Memory is an
// estimate: the mean MEMORY USAGE of memorySamples keys from RANDOMKEY,
// times the key count. Each of those is O(1) for strings and samples five
// elements of an aggregate, so a round costs about 2*memorySamples+2 cheap
// commands per tenant with a memory quota. Between rounds a tenant can go
// over by what it writes in one interval.
func (s *Set) RunSampler(ctx context.Context, interval func() time.Duration, targets func() []QuotaTarget, log *slog.Logger) {
	every := func() time.Duration {
		if d := interval(); d > 0 {
			return d
		}
		return time.Second
	}
	conns := map[string]*sampleConn{}
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	cur := every()
	tick := time.NewTicker(cur)
	defer tick.Stop()
	warned := map[string]bool{}
	for {
		groups := map[string][]QuotaTarget{}
		for _, t := range targets() {
			groups[t.Upstream] = append(groups[t.Upstream], t)
		}
		for name, c := range conns {
			if groups[name] == nil {
				c.c.Close()
				delete(conns, name)
			}
		}
		for name, ts := range groups {
			err := s.sampleUpstream(ctx, conns, name, ts)
			if err != nil && !warned[name] && ctx.Err() == nil {
				log.Warn("quota sampling failed; quotas keep their last sample", "upstream", name, "err", err)
			}
			warned[name] = err != nil
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if d := every(); d != cur {
			cur = d
			tick.Reset(d)
		}
	}
}

// sampleUpstream runs one round for the tenants of one upstream.
func (s *Set) sampleUpstream(ctx context.Context, conns map[string]*sampleConn, name string, ts []QuotaTarget) error {
	ctx, cancel := context.WithTimeout(ctx, sampleTimeout)
	defer cancel()
	c := conns[name]
	if c == nil {
		nc, err := ts[0].Dial(ctx)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		c = &sampleConn{c: nc}
		conns[name] = c
	}
	dl, _ := ctx.Deadline()
	_ = c.c.SetDeadline(dl)
	err := s.sampleOn(c, ts)
	if err != nil {
		c.c.Close()
		delete(conns, name)
	}
	return err
}

func (s *Set) sampleOn(c *sampleConn, ts []QuotaTarget) error {
	info, err := c.do([]string{"INFO", "keyspace"})
	if err != nil {
		return fmt.Errorf("INFO keyspace: %w", err)
	}
	keys := keyspaceCounts(info[0].Str)
	now := time.Now()
	for _, qt := range ts {
		t := s.lookup(qt.Tenant)
		if t == nil {
			continue
		}
		n := keys[qt.DB]
		mem := int64(-1)
		if t.Limits().MemoryBytes > 0 {
			if mem, err = c.memory(qt.DB, n); err != nil {
				return fmt.Errorf("memory of db %d: %w", qt.DB, err)
			}
		}
		t.recordQuota(n, mem, now)
	}
	return nil
}

// keyspaceCounts reads "db3:keys=10,expires=0,avg_ttl=0" lines.
func keyspaceCounts(info []byte) map[int]int64 {
	out := map[int]int64{}
	for line := range bytes.SplitSeq(info, []byte("\n")) {
		line = bytes.TrimSpace(line)
		rest, ok := bytes.CutPrefix(line, []byte("db"))
		if !ok {
			continue
		}
		dbs, fields, ok := bytes.Cut(rest, []byte(":"))
		if !ok {
			continue
		}
		db, err := strconv.Atoi(string(dbs))
		if err != nil {
			continue
		}
		for f := range bytes.SplitSeq(fields, []byte(",")) {
			if v, ok := bytes.CutPrefix(f, []byte("keys=")); ok {
				if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					out[db] = n
				}
			}
		}
	}
	return out
}

// sampleConn is the sampler's connection to one upstream.
type sampleConn struct {
	c   net.Conn
	buf []byte
	db  int
}

// memory estimates the bytes of the n keys in db from random keys.
func (c *sampleConn) memory(db int, n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	if c.db != db {
		if _, err := c.do([]string{"SELECT", strconv.Itoa(db)}); err != nil {
			return 0, err
		}
		c.db = db
	}
	cmds := make([][]string, memorySamples)
	for i := range cmds {
		cmds[i] = []string{"RANDOMKEY"}
	}
	keys, err := c.do(cmds...)
	if err != nil {
		return 0, err
	}
	cmds = cmds[:0]
	for _, k := range keys {
		if !k.Null && k.Type == resp.TypeBulk {
			cmds = append(cmds, []string{"MEMORY", "USAGE", string(k.Str)})
		}
	}
	if len(cmds) == 0 {
		return 0, nil // emptied since INFO
	}
	sizes, err := c.do(cmds...)
	if err != nil {
		return 0, err
	}
	var sum, got int64
	for _, v := range sizes {
		if v.Type == resp.TypeInt {
			sum += v.Int
			got++
		}
	}
	if got == 0 {
		return 0, nil
	}
	return sum / got * n, nil
}

// do pipelines commands and returns their replies, which alias the
// connection's buffer until the next do; an error reply fails.
func (c *sampleConn) do(cmds ...[]string) ([]resp.Value, error) {
	var req []byte
	for _, a := range cmds {
		req = resp.AppendCommand(req, a...)
	}
	if _, err := c.c.Write(req); err != nil {
		return nil, err
	}
	out := make([]resp.Value, 0, len(cmds))
	c.buf = c.buf[:0]
	off := 0
	lim := resp.DefaultLimits()
	for len(out) < len(cmds) {
		v, n, err := resp.ParseValue(c.buf[off:], &lim)
		if errors.Is(err, resp.ErrIncomplete) {
			if len(c.buf) == cap(c.buf) {
				c.buf = append(c.buf, make([]byte, max(4096, len(c.buf)))...)[:len(c.buf)]
			}
			m, rerr := c.c.Read(c.buf[len(c.buf):cap(c.buf)])
			c.buf = c.buf[:len(c.buf)+m]
			if rerr != nil {
				return nil, rerr
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if v.Type == resp.TypeError {
			return nil, fmt.Errorf("upstream said %q", v.Str)
		}
		out = append(out, v)
		off += n
	}
	return out, nil
}
