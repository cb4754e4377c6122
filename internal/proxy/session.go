package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// conn is the per-connection state of a session while it logs in.
type conn struct {
	srv     *Server
	sess    *Session
	c       net.Conn
	log     *slog.Logger // built on first use: see logger
	buf     []byte       // bytes read from the client and not yet consumed
	cmd     resp.Command
	start   time.Time
	endOnce sync.Once
	// wait counts the connection as not yet logged in (see admission).
	wait *waiting
	// name is a connection name the client set with HELLO … SETNAME before
	// logging in (redis-server keeps it); it is set upstream at login.
	name    []byte
	hasName bool
}

// errHandedOff means the session goes on in relay goroutines of its own,
// which end it (cn.end) when they finish.
var errHandedOff = errors.New("session handed to the relay")

// serveConn logs one client in and hands it to a relay. The relays run in
// fresh goroutines and this one returns (to the accept loop, which reuses
// it for the next login): an idle session then keeps only small stacks,
// not the one that grew during TLS, dialing and logging.
func (s *Server) serveConn(ctx context.Context, c net.Conn, w *waiting, listener string) {
	sess := s.reg.add(c, listener)
	cn := &conn{srv: s, sess: sess, c: c, start: time.Now(), wait: w}
	var err error
	defer func() {
		if r := recover(); r != nil {
			// The last guard: one connection's bug must not take the process down.
			s.metrics.panics.Add(1)
			cn.logger().Error("session panic", "panic", fmt.Sprint(r))
			err = fmt.Errorf("panic: %v", r)
		}
		if !errors.Is(err, errHandedOff) {
			cn.end(err)
		}
	}()
	err = cn.run(ctx)
}

// logger returns the session's logger, with its connection id, client
// address and tenant. It is built on first use and not kept: most sessions
// log only when they end, and an idle session should not hold a handler
// clone for its whole life.
func (cn *conn) logger() *slog.Logger {
	if cn.log != nil {
		return cn.log // tests inject one
	}
	// A sessionHandler, not srv.log.With: the attributes are formatted
	// only when a line is written, not for every line below the level.
	h := &sessionHandler{base: cn.srv.log.Handler(), id: cn.sess.ID, client: cn.sess.ClientAddr}
	if id := cn.sess.Identity(); id != nil {
		h.tenant, h.hasTenant = id.Tenant, true
	}
	return slog.New(h)
}

// end unregisters the session, closes the client side and logs its end.
// It runs once, from whichever goroutine finishes the session last.
func (cn *conn) end(err error) {
	cn.endOnce.Do(func() {
		if err != nil && !isClosedErr(err) {
			cn.logger().Info("session ended", "err", err)
		}
		s, sess := cn.srv, cn.sess
		// Free the session's slot (connection limits) before the client
		// can see the close, so a client that reconnects at once fits.
		s.reg.remove(sess)
		s.adm.done(cn.wait)
		go lingerClose(cn.c)
		attrs := []any{"duration", time.Since(cn.start).Round(time.Millisecond), "bytes_in", sess.BytesIn.Load(), "bytes_out", sess.BytesOut.Load()}
		if r := sess.CloseReason(); r != "" {
			attrs = append(attrs, "reason", r)
		}
		cn.logger().Info("disconnect", attrs...) // logger adds conn, client, tenant
		if s.auditTo != nil && sess.Identity() != nil {
			e := auditEvent(sess, "session_end", nil)
			e.Success, e.Reason = true, sess.CloseReason()
			e.BytesIn, e.BytesOut, e.Duration = sess.BytesIn.Load(), sess.BytesOut.Load(), time.Since(cn.start).Seconds()
			s.auditTo.Write(e)
		}
		s.wg.Done()
	})
}

// guard runs f as a relay goroutine: a panic is recovered, counted and
// turned into an error for done, which ends the session.
func (cn *conn) guard(f func() error, done func(error)) {
	var err error
	defer func() {
		if r := recover(); r != nil {
			cn.srv.metrics.panics.Add(1)
			cn.logger().Error("relay panic", "panic", fmt.Sprint(r))
			err = fmt.Errorf("panic: %v", r)
		}
		done(err)
	}()
	err = f()
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}

func (cn *conn) run(ctx context.Context) error {
	lim := cn.srv.limits()
	_ = cn.c.SetDeadline(time.Now().Add(lim.AuthTimeout.D()))
	id, err := cn.tlsIdentity(ctx)
	if err != nil {
		return err
	}
	if id != nil {
		cn.srv.adm.done(cn.wait) // logged in by its certificate
	}
	lg, err := cn.handshake(id)
	if err != nil {
		return err
	}
	if lg == nil {
		return nil // QUIT
	}
	return cn.connect(ctx, lg)
}

// tlsIdentity completes the TLS handshake (within the login deadline) and
// maps a verified client certificate to a tenant.
func (cn *conn) tlsIdentity(ctx context.Context) (*tenant.Identity, error) {
	tc, ok := cn.c.(*tls.Conn)
	if !ok {
		return nil, nil
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, nil
	}
	id, err := cn.srv.directory().FromCertificate(certs[0])
	if err != nil {
		cn.srv.audit(cn.sess, "auth_fail", "method", "mtls", "reason", reason(err))
		cn.c.Write(replyWrongPass)
		return nil, err
	}
	cn.srv.audit(cn.sess, "auth_ok", "tenant", id.Tenant, "method", "mtls")
	return id, nil
}

// login is the outcome of a successful handshake.
type login struct {
	id    *tenant.Identity
	hello *helloRequest // the client's HELLO, sent upstream with our credentials
	reply []byte        // what the client gets once upstream is ready (+OK for AUTH)
}

// loginWith is a login whose reply is reply (nil: the upstream's HELLO
// reply), with the connection name the client set before logging in.
func (cn *conn) loginWith(id *tenant.Identity, h *helloRequest, reply []byte) *login {
	cn.srv.adm.done(cn.wait)
	return &login{id: id, hello: h, reply: reply}
}

// handshake answers commands until the client has logged in. Only AUTH,
// HELLO and QUIT are served; everything else gets NOAUTH, as redis-server
// does. Commands pipelined after a successful AUTH stay in cn.buf.
func (cn *conn) handshake(pre *tenant.Identity) (*login, error) {
	lim := cn.srv.limits()
	rl := resp.DefaultLimits()
	rl.PreAuth = true
	rl.PreAuthMaxArgs = lim.PreAuthMaxArgs
	rl.PreAuthMaxBulk = int64(lim.PreAuthMaxBulk)
	rl.MaxInlineLen = lim.MaxInlineLen
	failures := 0
	for {
		n, err := resp.ParseCommand(cn.buf, &cn.cmd, &rl)
		if errors.Is(err, resp.ErrIncomplete) {
			if err := cn.fill(); err != nil {
				if errors.Is(err, errBufferCap) {
					cn.c.Write([]byte("-ERR Protocol error: unauthenticated request too big\r\n"))
				} else if isTimeout(err) {
					// The login deadline covers writes too: give the reply its own.
					_ = cn.c.SetWriteDeadline(time.Now().Add(time.Second))
					cn.c.Write(replyAuthTimeout)
					return nil, fmt.Errorf("no login within %s", lim.AuthTimeout.D())
				}
				return nil, err
			}
			continue
		}
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				cn.c.Write(resp.AppendError(nil, "ERR "+pe.Error()))
			}
			return nil, fmt.Errorf("client protocol error before login: %w", err)
		}
		whole := cn.buf
		cn.buf = cn.buf[n:]
		args := cn.cmd.Args
		if len(args) == 0 {
			continue // empty inline line
		}
		name := args[0]
		switch {
		case resp.EqualFold(name, "AUTH"):
			user, pass, ok := authArgs(args)
			if !ok {
				cn.c.Write(authArityReply(args))
				continue
			}
			id, refused := cn.tryLogin(pre, user, pass)
			if refused != nil {
				failures++
				if done, ferr := cn.failed(failures, lim.MaxAuthFailures, refused); done {
					return nil, ferr
				}
				continue
			}
			return cn.loginWith(id, nil, replyOK), nil
		case resp.EqualFold(name, "HELLO"):
			h, bad := parseHello(args)
			if bad != nil {
				cn.c.Write(bad)
				continue
			}
			// Options apply in order, as in redis-server: an AUTH that
			// succeeded stays logged in even if a later option fails, and a
			// name set before a failure stays set.
			id, authFailed := pre, false
			stop := h.walk(func(user, pass []byte) []byte {
				nid, refused := cn.tryLogin(pre, user, pass)
				if refused != nil {
					authFailed = true
					return refused
				}
				id = nid
				return nil
			})
			if h.nameSet {
				// A copy: the argument aliases the pre-login buffer.
				cn.name, cn.hasName = append([]byte(nil), h.hello.SetName...), true
				h.hello.SetName, h.nameSet = nil, false // set at login with the rest
			}
			switch {
			case authFailed:
				failures++
				if done, ferr := cn.failed(failures, lim.MaxAuthFailures, stop); done {
					return nil, ferr
				}
				continue
			case id != nil && stop != nil:
				// Logged in, but a later option failed: redis-server stays in
				// RESP2 and answers that option's error.
				return cn.loginWith(id, nil, stop), nil
			case stop != nil:
				cn.c.Write(stop)
				continue
			case id == nil:
				cn.c.Write(replyHelloNoAuth)
				continue
			}
			return cn.loginWith(id, h, nil), nil
		case resp.EqualFold(name, "QUIT"):
			cn.c.Write(replyOK)
			return nil, nil
		default:
			if pre != nil {
				// mTLS: already logged in; this command is the first of the
				// session. Put it back for the relay.
				cn.buf = whole
				return cn.loginWith(pre, nil, nil), nil
			}
			cn.c.Write(replyNoAuth)
		}
	}
}

// authenticate checks a credential (after the throttle: see tryLogin). On
// an mTLS connection AUTH may only confirm the certificate's tenant: it
// never switches to another one.
func (cn *conn) authenticate(pre *tenant.Identity, user, pass []byte) (*tenant.Identity, error) {
	id, err := cn.srv.directory().Authenticate(user, pass)
	if err == nil && pre != nil && id.Tenant != pre.Tenant {
		err = &tenant.Rejection{Reason: "AUTH names another tenant than the client certificate"}
	}
	if err != nil {
		cn.srv.audit(cn.sess, "auth_fail", "reason", reason(err))
		cn.srv.obs.AuthFailed(cn.srv.namedTenant(user))
		return nil, err
	}
	cn.srv.audit(cn.sess, "auth_ok", authOK(id)...)
	return id, nil
}

// failed answers a refused login (counted by tryLogin) and reports
// whether to hang up.
func (cn *conn) failed(failures, max int, reply []byte) (bool, error) {
	cn.c.Write(reply)
	if failures >= max {
		return true, fmt.Errorf("closed after %d failed logins", failures)
	}
	return false, nil
}

func reason(err error) string {
	var r *tenant.Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var errBufferCap = errors.New("request buffer limit reached")

// preAuthBufCap bounds what an unauthenticated client can make us hold:
// room for the largest command the pre-auth limits allow (10 arguments of
// 16 KiB by default), at least 256 KiB, never more than 64 MiB.
func preAuthBufCap(l *config.Limits) int {
	need := int64(l.PreAuthMaxArgs)*(int64(l.PreAuthMaxBulk)+32) + 64
	return int(min(max(need, 256<<10), 64<<20))
}

// fill reads more client bytes into cn.buf.
func (cn *conn) fill() error {
	if len(cn.buf) >= preAuthBufCap(cn.srv.limits()) {
		return errBufferCap
	}
	if cap(cn.buf)-len(cn.buf) < 256 {
		// Logins are small: start at 512 bytes and grow only when a
		// client sends more (bounded by preAuthBufCap).
		nb := make([]byte, len(cn.buf), max(2*cap(cn.buf), 512))
		copy(nb, cn.buf)
		cn.buf = nb
	}
	n, err := cn.c.Read(cn.buf[len(cn.buf):cap(cn.buf)])
	cn.buf = cn.buf[:len(cn.buf)+n]
	if n > 0 {
		if cn.wait != nil {
			cn.wait.active.Store(true) // no longer idle (see admission)
		}
		return nil
	}
	return err
}

// connect dials the tenant's upstream, answers the login command and hands
// the connection to the relay.
func (cn *conn) connect(ctx context.Context, lg *login) error {
	lim := cn.srv.limits()
	cl := cn.srv.connLimits()
	switch cn.srv.reg.bindTenant(cn.sess, lg.id, cl.perTenant, cl.sessions()) {
	case bindTenantFull:
		cn.srv.metrics.refused.Add(1)
		cn.c.Write(replyTenantLimit)
		return fmt.Errorf("tenant %s at its connection limit (%d)", lg.id.Tenant, cl.perTenant)
	case bindAllFull:
		cn.srv.metrics.refused.Add(1)
		cn.c.Write(replyMaxClients)
		return fmt.Errorf("all %d sessions in use", cl.sessions())
	}
	// The identity was checked against the directory of its login (for a
	// client certificate, at the TLS handshake, maybe seconds ago). A
	// reload in between ended only the sessions bound by then: check
	// again now that this one is bound, so a swap after this point ends
	// it and one before it is seen here.
	if ok, why := cn.srv.directory().Check(lg.id); !ok {
		cn.c.Write(replyWrongPass)
		return fmt.Errorf("login no longer valid: %s", why)
	}
	route := lg.id.Route
	// The connection's name is the client's: only a name it set itself
	// goes upstream. Sessions are told apart by their CLIENT ID (listed
	// with the sessions), which every login asks for.
	opts := upstream.LoginOptions{DB: route.DB, WantClientID: true}
	if cn.hasName {
		opts.ClientName = string(cn.name)
	}
	if lg.hello != nil {
		opts.Hello = &lg.hello.hello
	}
	dialStart := time.Now()
	up, err := upstream.Dial(ctx, route.Target, opts)
	cn.srv.obs.UpstreamDial(route.Target.Name, time.Since(dialStart), err)
	if err != nil {
		cn.srv.metrics.upstreamErrors.Add(1)
		if cn.srv.auditTo != nil {
			cn.srv.auditTo.Write(auditEvent(cn.sess, "upstream_unavailable", []any{"upstream", route.Target.Name, "reason", err.Error()}))
		}
		cn.logger().Warn("upstream unavailable", "upstream", route.Target.Name, "err", err)
		cn.c.Write(replyUnavailable)
		return nil
	}
	handedOff := false
	defer func() {
		if !handedOff {
			up.Close()
		}
	}()
	if !cn.sess.setUpstream(up) {
		return nil // closed (revoked or shutdown) while dialing
	}
	cn.sess.upstreamID.Store(up.ClientID)
	_ = cn.c.SetDeadline(time.Time{})
	reply := lg.reply
	if lg.hello != nil {
		reply = up.HelloReply
	}
	if len(reply) > 0 {
		if _, err := cn.c.Write(reply); err != nil {
			return err
		}
	}
	if len(up.Rest) > 0 {
		if _, err := cn.c.Write(up.Rest); err != nil {
			return err
		}
	}
	cn.logger().Debug("connected", "upstream", route.Target.Name, "pass_through", route.PassThrough)
	// The login's parsed arguments alias the pre-auth buffer: drop them so
	// a long-lived session does not keep that buffer alive.
	cn.cmd = resp.Command{}
	if route.PassThrough {
		// Commands pipelined behind the login go first, in order.
		if len(cn.buf) > 0 {
			if _, err := up.Write(cn.buf); err != nil {
				return err
			}
			cn.sess.BytesIn.Add(int64(len(cn.buf)))
		}
		cn.buf = nil
		stop := func() bool { return false }
		if route.MaxAge > 0 {
			// Pass-through bytes cannot carry an in-place re-login (AWS IAM
			// closes connections after 12 h): end the session before that.
			stop = time.AfterFunc(maxAgeJitter(route.MaxAge), func() { cn.sess.Close("max connection age") }).Stop
		}
		handedOff = true
		if !cn.startLoopRelay(up.Conn, lim.SpliceMinBytes, stop) {
			cn.startPassThrough(up.Conn, lim.SpliceMinBytes, stop) // TLS on either side
		}
		return errHandedOff
	}
	handedOff = true
	cn.srv.inspect(cn, up, lg)
	return errHandedOff
}
