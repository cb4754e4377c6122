// Package etcd keeps tenants in etcd, so that several redoubt replicas
// share one view: a source that lists <prefix>tenants/ and watches it from
// the list's revision on, and a store that the admin API writes through
// (store: {etcd: true}).
package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

// Options configure a Source.
type Options struct {
	Config config.EtcdSource
	Client *clientv3.Client
	Logger *slog.Logger
	// OnChange is called (from the source's goroutine) after each new view.
	OnChange func()
	Now      func() time.Time
}

// Source mirrors the tenant keys into a view.
type Source struct {
	cli        *clientv3.Client
	dir        string // <prefix>tenants/
	prefix     string
	staleAfter time.Duration
	timeout    time.Duration
	log        *slog.Logger
	onChange   func()
	now        func() time.Time
	stats      *view.Stats
	current    atomic.Pointer[view.View]
	changed    model.Notify
	// seen is the highest revision the view includes, so that a write
	// through the Store can wait until this replica's view has it.
	seen atomic.Int64

	// entries is the local copy of every key under dir, decoded; only the
	// run goroutine touches it.
	entries map[string]entry

	mu          sync.Mutex // guards lastContact
	lastContact time.Time
}

type entry struct {
	tenant view.Tenant
	rej    *view.Rejection
}

// New makes a source; Start runs it.
func New(o Options) *Source {
	s := &Source{
		cli:        o.Client,
		prefix:     o.Config.Prefix,
		dir:        o.Config.Prefix + tenantsDir,
		staleAfter: o.Config.StaleAfter.D(),
		timeout:    o.Config.DialTimeout.D(),
		log:        o.Logger,
		onChange:   o.OnChange,
		now:        o.Now,
		stats:      &view.Stats{Source: "etcd"},
		entries:    map[string]entry{},
		changed:    model.NewNotify(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("source", "etcd")
	if s.now == nil {
		s.now = time.Now
	}
	if s.onChange == nil {
		s.onChange = func() {}
	}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	if s.staleAfter <= 0 {
		s.staleAfter = config.DefaultEtcdStaleAfter
	}
	s.current.Store(&view.View{Tenants: []view.Tenant{}})
	return s
}

// View is the current state of the tenant keys.
func (s *Source) View() *view.View { return s.current.Load() }

// Stats are the source's health figures.
func (s *Source) Stats() *view.Stats { return s.stats }

// Stale reports whether etcd has been out of reach for longer than
// stale_after; the last good view keeps serving meanwhile.
func (s *Source) Stale() bool { return s.stats.Read().Stale }

// Start runs the source until ctx ends and waits up to wait for the first
// list. It returns false when that did not complete in time; the source
// keeps trying and publishes when it can.
func (s *Source) Start(ctx context.Context, wait time.Duration) bool {
	s.touch() // stale counts from the start
	first := make(chan struct{})
	go s.run(ctx, first)
	go s.probe(ctx)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-first:
		return true
	case <-t.C:
		s.log.Warn("etcd did not answer the first list in time", "waited", wait)
		return false
	case <-ctx.Done():
		return false
	}
}

// run lists, then watches from the list's revision + 1; when the watch
// breaks (compaction, lost leader, closed channel) it lists again, with
// backoff while etcd fails.
func (s *Source) run(ctx context.Context, first chan struct{}) {
	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		rev, err := s.list(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.stats.Error()
			d := backoff.next()
			s.log.Warn("etcd list failed; keeping the last view", "err", err, "retry_in", d)
			sleep(ctx, d)
			continue
		}
		backoff.reset()
		if first != nil {
			close(first)
			first = nil
		}
		err = s.watch(ctx, rev+1)
		if ctx.Err() != nil {
			return
		}
		s.stats.Error()
		s.log.Warn("etcd watch ended; listing again", "err", err, "revision", rev)
		sleep(ctx, backoff.next())
	}
}

// list reads every tenant key and replaces the local copy with it, so a
// key deleted while the watch was down disappears too.
func (s *Source) list(ctx context.Context) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(lctx, s.dir, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	s.touch()
	fresh := make(map[string]entry, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		fresh[string(kv.Key)] = s.decode(kv.Key, kv.Value)
	}
	for key := range s.entries {
		if _, ok := fresh[key]; !ok {
			s.log.Info("tenant key gone (found on re-list)", "key", key)
		}
	}
	s.entries = fresh
	s.publish()
	s.advance(resp.Header.Revision)
	return resp.Header.Revision, nil
}

// watch applies changes from rev on until the watch ends.
func (s *Source) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(wctx, s.dir, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return errors.New("revision compacted")
			}
			return err
		}
		if resp.Canceled {
			return errors.New("watch canceled by the server")
		}
		s.touch()
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			switch ev.Type {
			case clientv3.EventTypePut:
				s.entries[key] = s.decode(ev.Kv.Key, ev.Kv.Value)
			case clientv3.EventTypeDelete:
				delete(s.entries, key)
			}
		}
		if len(resp.Events) > 0 {
			s.publish()
			s.advance(resp.Events[len(resp.Events)-1].Kv.ModRevision)
		}
	}
	return errors.New("watch channel closed")
}

func (s *Source) decode(key, value []byte) entry {
	t, rej := decode(s.prefix, string(key), value)
	if rej != nil {
		s.log.Warn("etcd key skipped", "key", rej.Entry, "field", rej.Field, "reason", rej.Reason)
		return entry{rej: rej}
	}
	return entry{tenant: t}
}

// publish turns the local copy into a view and swaps it in when it differs.
func (s *Source) publish() {
	keys := make([]string, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := &view.View{Tenants: make([]view.Tenant, 0, len(keys))}
	for _, k := range keys {
		if e := s.entries[k]; e.rej != nil {
			v.Rejected = append(v.Rejected, *e.rej)
		} else {
			v.Tenants = append(v.Tenants, e.tenant)
		}
	}
	// The first view is published even when empty: it says etcd was read.
	old := s.current.Load()
	v.Generation = old.Generation
	if old.Generation > 0 && reflect.DeepEqual(old, v) {
		s.stats.Synced(s.now())
		return
	}
	v.Generation = old.Generation + 1
	s.current.Store(v)
	s.stats.Published(v, s.now())
	s.changed.Signal()
	s.onChange()
}

// probe checks that etcd answers, every third of stale_after (at most
// every 5 s): the client's watch reconnects silently, so an open watch
// alone does not prove the view is current.
func (s *Source) probe(ctx context.Context) {
	every := min(max(s.staleAfter/3, 100*time.Millisecond), 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	wasStale := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, min(every, s.timeout))
		// One key, read linearizably: proves a quorum answers, at the
		// cost of one index lookup however many tenants there are.
		_, err := s.cli.Get(pctx, s.dir)
		cancel()
		if err == nil {
			s.touch()
			if wasStale {
				s.log.Info("etcd reachable again")
			}
			wasStale = false
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.stats.Error()
		s.mu.Lock()
		since := s.now().Sub(s.lastContact)
		s.mu.Unlock()
		if since > s.staleAfter {
			s.stats.SetStale(true)
			if !wasStale {
				s.log.Error("etcd out of reach; serving its last good view", "since", since.Round(time.Second), "err", err)
			}
			wasStale = true
		}
	}
}

func (s *Source) advance(rev int64) {
	for {
		cur := s.seen.Load()
		if rev <= cur || s.seen.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// waitFor waits until the view includes revision rev (a write this
// process made), so that the admin API answers once the change is in force.
func (s *Source) waitFor(ctx context.Context, rev int64) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for s.seen.Load() < rev {
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd: written at revision %d, but the watch has not delivered it yet: %w", rev, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func (s *Source) touch() {
	now := s.now()
	s.mu.Lock()
	s.lastContact = now
	s.mu.Unlock()
	s.stats.Synced(now)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
