// Package proxy is redoubt's data path: listeners, sessions (login), and
// the relays (pass-through with kernel splice, and inspecting).
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// Listener is one client-facing socket to open.
type Listener struct {
	Address string
	TLS     *tls.Config // nil for plain TCP
}

// Options configure a Server.
type Options struct {
	Logger    *slog.Logger
	Directory *tenant.Directory
	Limits    config.Limits
	// Observer hears of dial times, command times and refusals (metrics);
	// nil: nobody.
	Observer Observer
	// Audit receives audit events in the audit log's schema besides the
	// lines in Logger; nil: only those lines.
	Audit audit.Sink
}

// counters are the process-wide figures the admin endpoint exports.
type counters struct {
	accepted, authFailures, upstreamErrors, panics, refused, reauths atomic.Int64
}

// Server accepts clients on its listeners and runs their sessions.
type Server struct {
	log      *slog.Logger
	dir      atomic.Pointer[tenant.Directory]
	lim      atomic.Pointer[config.Limits]
	reg      *Registry
	bufs     *bufPool
	reqMem   *memBudget // request bytes the inspecting relays hold (limits.request_memory_budget)
	throttle *throttle
	adm      *admission
	conns    atomic.Pointer[connLimits] // effective connection limits
	metrics  counters
	obs      Observer
	observed bool // obs is a real Observer, not the no-op
	auditTo  audit.Sink
	fair     *limit.Set // fair sharing: per-tenant limits (fairshare.go)

	mu        sync.Mutex
	listeners []net.Listener
	names     []string
	tlsConfs  []*tls.Config
	wg        sync.WaitGroup
	draining  atomic.Bool
}

// New makes a server; call Listen, then Serve.
func New(o Options) *Server {
	s := &Server{
		log: o.Logger,
		reg: NewRegistry(),
		adm: newAdmission(),
		obs: o.Observer, auditTo: o.Audit,
	}
	s.observed = s.obs != nil
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	lim := o.Limits
	s.lim.Store(&lim)
	s.dir.Store(o.Directory)
	size := lim.PassthroughBufSize
	if size <= 0 {
		size = config.DefaultPassthroughBufSize
	}
	s.bufs = newBufPool(size)
	s.reqMem = newMemBudget(requestBudget(&lim))
	s.throttle = newThrottle(lim.AuthFailPerAddr, lim.AuthFailWindow.D())
	s.setConnLimits(&lim)
	s.fair = newLimitSet(lim)
	return s
}

// setConnLimits derives the effective connection limits (see connlimits.go).
func (s *Server) setConnLimits(lim *config.Limits) {
	c := deriveConnLimits(lim, noFile())
	s.conns.Store(&c)
	s.log.Info("connection limits", "max_connections", c.total, "max_unauthenticated", c.unauth,
		"max_unauthenticated_per_addr", c.perAddr, "max_conns_per_tenant", c.perTenant, "sessions", c.sessions())
}

func (s *Server) connLimits() connLimits { return *s.conns.Load() }

func (s *Server) limits() *config.Limits       { return s.lim.Load() }
func (s *Server) directory() *tenant.Directory { return s.dir.Load() }
func (s *Server) Registry() *Registry          { return s.reg }

// Listen opens every listener or none.
func (s *Server) Listen(specs []Listener) error {
	var opened []net.Listener
	for _, spec := range specs {
		l, err := net.Listen("tcp", spec.Address)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return fmt.Errorf("listen %s: %w", spec.Address, err)
		}
		opened = append(opened, l)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range opened {
		s.listeners = append(s.listeners, l)
		s.names = append(s.names, l.Addr().String())
		s.tlsConfs = append(s.tlsConfs, specs[i].TLS)
	}
	return nil
}

// Addrs returns the bound addresses (useful with port 0).
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

// Serve accepts until ctx is cancelled, then drains: it stops accepting,
// lets sessions finish for the grace period, then closes the rest.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ls := append([]net.Listener(nil), s.listeners...)
	names := append([]string(nil), s.names...)
	confs := append([]*tls.Config(nil), s.tlsConfs...)
	s.mu.Unlock()
	if len(ls) == 0 {
		return errors.New("no listeners")
	}
	sessCtx, cancelSessions := context.WithCancel(context.Background())
	defer cancelSessions()
	go s.runQuotaSampler(sessCtx)
	var acceptWG sync.WaitGroup
	for i := range ls {
		acceptWG.Add(1)
		go func() {
			defer acceptWG.Done()
			s.acceptLoop(sessCtx, ls[i], names[i], confs[i])
		}()
	}
	<-ctx.Done()
	s.draining.Store(true)
	for _, l := range ls {
		l.Close()
	}
	acceptWG.Wait()
	grace := s.limits().ShutdownGrace.D()
	s.log.Info("draining", "sessions", s.reg.Len(), "grace", grace)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		n := s.reg.CloseAll("shutdown")
		s.log.Info("grace period over, closed sessions", "count", n)
		cancelSessions()
		<-done
	}
	return nil
}

func (s *Server) acceptLoop(ctx context.Context, l net.Listener, name string, tc *tls.Config) {
	// Logins run on reused goroutines. A fresh one starts on a small stack
	// and grows it, copying, through dialing and logging in on every
	// session; a reused one has grown already. A login goroutine never
	// holds a session past the handoff to the relay (see serveConn), and
	// at most maxIdleLogins of them wait for the next client.
	const maxIdleLogins = 64
	type accepted struct {
		c net.Conn
		w *waiting
	}
	conns := make(chan accepted)
	defer close(conns) // idle login goroutines exit with the listener
	var idle atomic.Int32
	login := func(a accepted) {
		for {
			s.serveConn(ctx, a.c, a.w, name)
			if idle.Add(1) > maxIdleLogins {
				idle.Add(-1)
				return
			}
			var ok bool
			a, ok = <-conns
			idle.Add(-1)
			if !ok {
				return
			}
		}
	}
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.draining.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: back off, keep serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", "listener", name, "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.metrics.accepted.Add(1)
		w, evict := s.adm.admit(c, s.connLimits())
		for _, old := range evict {
			// An idle connection makes room (see admission); closing it
			// wakes its login goroutine, which ends it.
			s.metrics.refused.Add(1)
			old.Close()
		}
		if w == nil {
			// Every login that could make room is busy: a fresh socket's
			// send buffer is empty, so this write does not block the loop.
			s.metrics.refused.Add(1)
			c.Write(replyMaxClients)
			c.Close()
			continue
		}
		if tc != nil {
			c = tls.Server(c, tc)
		}
		s.wg.Add(1) // done by the session's end (cn.end), wherever it runs
		select {
		case conns <- accepted{c, w}: // an idle login goroutine takes it
		default:
			go login(accepted{c, w})
		}
	}
}

// audit writes one audit event; never pass a secret here.
func (s *Server) audit(sess *Session, event string, attrs ...any) {
	if s.auditTo != nil {
		s.auditTo.Write(auditEvent(sess, event, attrs))
	}
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return // below the configured level: do not build the line
	}
	s.log.Info(event, append([]any{"audit", true, "conn", sess.ID, "client", sess.ClientAddr}, attrs...)...)
}

// Stats are the process-wide counters.
type Stats struct {
	Accepted, AuthFailures, UpstreamErrors, Panics, Refused, Reauths, SpliceBytes int64
	Sessions                                                                      int
	// LoopSessions is process-wide: every Server in the process shares the loops.
	LoopSessions int64
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted: s.metrics.accepted.Load(), AuthFailures: s.metrics.authFailures.Load(),
		UpstreamErrors: s.metrics.upstreamErrors.Load(), Panics: s.metrics.panics.Load(),
		Refused: s.metrics.refused.Load(), Reauths: s.metrics.reauths.Load(),
		SpliceBytes: SpliceBytes.Load(), Sessions: s.reg.Len(), LoopSessions: LoopSessions.Load(),
	}
}

// Draining reports whether shutdown has begun (for /readyz).
func (s *Server) Draining() bool { return s.draining.Load() }
