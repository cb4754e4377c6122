package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// inspector is the inspecting relay of one session: every client command
// is parsed and checked, then forwarded, rewritten or answered locally, and
// one queue keeps the client's replies in request order.
//
// The client side (processClient, handle: parse, decide, write upstream)
// queues one request per command; the reply side (consume, routeFull in
// inspect_upstream.go) completes them from what the upstream sends. On
// TLS sessions they are two goroutines; on the event loops (evinspect.go)
// the loop runs both. mu guards the queue, the upstream-confirmed state
// (subscriptions, protocol) and every write to the client.
type inspector struct {
	srv   *Server
	cn    *conn
	up    *upstream.Conn
	route *tenant.Route
	pol   *policy.Policy

	isolated bool // shared upstream: DB pinning and isolation rules apply
	db       int
	prefix   []byte // pub/sub channel prefix on shared upstreams
	lim      resp.Limits

	cr     *sockReader
	cmd    resp.Command
	argMem int64 // bytes of cmd's arrays charged to the request budget (see chargeArgs)
	upOut  []byte

	// client loop state
	inMulti, multiDirty bool
	// full: the client is owed as much as a session may hold (see
	// roomForCommands); backlog: commands were left in the read buffer
	// because of it, to be decided once the replies catch up.
	full, backlog   bool
	failures        int
	clientErr       error // why processClient stopped (nil: QUIT)
	closeAfterDrain bool

	// reauth (AWS IAM): next in-place login, 0 when not needed
	reauthEvery time.Duration
	nextReauth  time.Time

	// ev is set when the relay runs on an event loop: writes go to its
	// endpoints instead of the net.Conns (closed then).
	ev *relayPair

	mu   sync.Mutex
	cond *sync.Cond // on mu: the goroutine relay's client loop waits here while full
	q    queue
	// waiting: the client loop waits on cond for the queue to shrink.
	waiting bool
	// subs and proto3 are the upstream connection's state as its replies
	// say, changed by confirmations, HELLO's and RESET's replies (never
	// when the command is sent). subs holds upstream (prefixed) names.
	subs     [3]map[string]struct{} // channels, patterns, shard channels
	proto3   bool
	closing  bool // client went away or QUIT: close once the queue drains
	quitting bool
	done     chan struct{}
	once     sync.Once
}

const (
	subChannel = iota
	subPattern
	subShard
)

// inspect runs the inspecting relay until either side ends.
// It runs the client and upstream loops in two fresh goroutines and ends
// the session when both are done.
func (s *Server) inspect(cn *conn, up *upstream.Conn, lg *login) {
	route := lg.id.Route
	pol := route.Policy
	if pol == nil {
		up.Close()
		cn.end(errors.New("route has no policy"))
		return
	}
	in := &inspector{
		srv: s, cn: cn, up: up, route: route, pol: pol,
		isolated: route.Shared, db: route.DB,
		lim:  resp.DefaultLimits(),
		done: make(chan struct{}),
	}
	lim := s.limits()
	in.lim.MaxBulkLen = lim.MaxBulkLen
	in.lim.MaxInlineLen = lim.MaxInlineLen
	in.cond = sync.NewCond(&in.mu)
	if in.isolated {
		in.prefix = []byte("t:" + lg.id.Tenant + ":")
	}
	if lg.hello != nil && lg.hello.hello.Proto == 3 {
		in.proto3 = true
	}
	if route.ReauthEvery > 0 {
		in.reauthEvery = route.ReauthEvery
		in.nextReauth = time.Now().Add(jitter(route.ReauthEvery))
	}
	in.cr = newSockReader(cn.c, s.bufs, cn.buf)
	in.cr.limitRequests(s.reqMem, int(lim.ClientQueryBufferLimit))
	cn.buf = nil
	if cn.startLoopInspect(in) {
		return
	}

	var mu sync.Mutex
	var cerr, uerr error
	left := 2
	done := func() {
		in.shutdown() // the other loop stops too
		mu.Lock()
		left--
		last := left == 0
		err := cerr
		if err == nil || isClosedErr(err) {
			err = uerr
		}
		mu.Unlock()
		if last {
			in.cr.drop()
			in.releaseArgs()
			up.Close()
			cn.end(err)
		}
	}
	go cn.guard(in.clientLoop, func(err error) { mu.Lock(); cerr = err; mu.Unlock(); done() })
	go cn.guard(in.upstreamLoop, func(err error) { mu.Lock(); uerr = err; mu.Unlock(); done() })
}

// shutdown ends both sides once. It interrupts with deadlines rather than
// closing, because it may run inside a poller callback of either
// connection; the connections are closed by their owners afterwards.
func (in *inspector) shutdown() {
	in.once.Do(func() {
		close(in.done)
		past := time.Unix(1, 0)
		_ = in.cn.c.SetDeadline(past)
		_ = in.up.SetDeadline(past)
		in.mu.Lock()
		in.cond.Broadcast() // a client loop waiting for room
		in.mu.Unlock()
	})
}

func (in *inspector) stopped() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// clientLoop reads client commands until the client leaves or either side
// fails. The work happens in processClient, inside the poller callback.
func (in *inspector) clientLoop() error {
	for {
		in.setReauthDeadline()
		err := in.cr.Run(in.processClient)
		if in.stopped() {
			return nil
		}
		switch {
		case err == nil: // processClient asked to stop
			if in.clientErr == nil || in.closeAfterDrain {
				in.finish()
			}
			return in.clientErr
		case isTimeout(err) && in.reauthEvery > 0:
			if err := in.maybeReauth(); err != nil {
				return err
			}
		case errors.Is(err, io.EOF):
			in.finish()
			return nil
		case errors.Is(err, errQueryBufferLimit) || errors.Is(err, errRequestBudget):
			in.local(requestMemoryReply(err))
			in.finish()
			return err
		default:
			return err
		}
	}
}

// Back-pressure: what a session may be owed before its client is no
// longer read (TCP then pushes back on the client). Commands already read
// wait in the read buffer meanwhile, undecided.
const (
	maxPending   = 1024      // requests waiting for their replies
	maxOwedLocal = 256 << 10 // bytes of the proxy's own replies waiting their turn
)

// processClient parses and decides every complete command in the buffer,
// then writes the batch upstream. It runs inside the client socket's
// poller callback: it must not close the client connection. It stops
// early, leaving commands in the buffer, while the client is owed as much
// as a session may hold: the goroutine relay then waits here for the
// replies to catch up, the event loop comes back when they have.
func (in *inspector) processClient() bool {
	for {
		if !in.decideBuffered() {
			return false
		}
		if err := in.flushUp(); err != nil {
			in.clientErr = err
			return false
		}
		if !in.backlog || in.ev != nil {
			break
		}
		if !in.waitForRoom() {
			return false
		}
	}
	if err := in.maybeReauth(); err != nil {
		in.clientErr = err
		return false
	}
	return true
}

// decideBuffered parses and decides the complete commands in the read
// buffer (false: the session's client side is over).
func (in *inspector) decideBuffered() bool {
	data := in.cr.Bytes()
	used := 0
	in.backlog = false
	in.cr.want = 0
	for len(data) > 0 {
		if in.full {
			in.backlog = true
			break
		}
		n, err := resp.ParseCommand(data, &in.cmd, &in.lim)
		if errors.Is(err, resp.ErrIncomplete) {
			// The reader grows its buffer towards what the request
			// declared (bounded: see sockReader.room).
			in.cr.want = in.cmd.Need()
			if err := in.chargeArgs(); err != nil {
				in.cr.Consume(used)
				in.flushUp()
				in.local(requestMemoryReply(err))
				in.clientErr, in.closeAfterDrain = err, true
				return false
			}
			break
		}
		if err != nil {
			var pe *resp.ProtocolError
			msg := "ERR Protocol error"
			if errors.As(err, &pe) {
				msg = "ERR " + pe.Error()
			}
			in.cr.Consume(used)
			in.flushUp()
			in.local(resp.AppendError(nil, msg))
			in.clientErr, in.closeAfterDrain = fmt.Errorf("client protocol error: %w", err), true
			return false
		}
		if len(in.cmd.Args) > 0 {
			in.handle(data[:n], in.cmd.Args)
		}
		if in.cmd.Mem() > argMemFree {
			// A request of many arguments is done: drop its arrays.
			in.cmd = resp.Command{}
			in.releaseArgs()
		}
		data = data[n:]
		used += n
		if in.quitting {
			in.cr.Consume(used)
			in.flushUp()
			return false
		}
	}
	in.cr.Consume(used)
	return true
}

// argMemFree is how much of a request's argument arrays is not charged
// to the request budget: part of a session's baseline.
const argMemFree = 256 << 10

// chargeArgs charges the parsed-argument arrays of a request under way
// (about 40 bytes per argument: resp.Command.Mem) to the request budget and
// counts them against the session's request limit, like its bytes: a
// request of a million empty arguments holds 6 MB of bytes and 40 MB of
// arrays.
func (in *inspector) chargeArgs() error {
	m := int64(in.cmd.Mem())
	if m <= argMemFree {
		in.releaseArgs()
		return nil
	}
	if lim := in.cr.limit; lim > 0 && m+int64(len(in.cr.Bytes())) > int64(lim) {
		return errQueryBufferLimit
	}
	if m > in.argMem && !in.cr.mem.reserve(m-in.argMem) {
		return errRequestBudget
	}
	if m < in.argMem {
		in.cr.mem.free(in.argMem - m)
	}
	in.argMem = m
	return nil
}

// releaseArgs gives back what chargeArgs charged.
func (in *inspector) releaseArgs() {
	if in.argMem > 0 {
		in.cr.mem.free(in.argMem)
		in.argMem = 0
	}
}

// roomForCommands reports whether the client may be read again: it is
// owed less than a session may hold.
func (in *inspector) roomForCommands() bool {
	in.mu.Lock()
	in.full = in.q.len() >= maxPending || in.q.local >= maxOwedLocal
	in.mu.Unlock()
	return !in.full
}

// waitForRoom blocks the goroutine relay's client loop until the replies
// have caught up (false: the session ended meanwhile).
func (in *inspector) waitForRoom() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for in.q.len() >= maxPending || in.q.local >= maxOwedLocal {
		if in.stopped() {
			return false
		}
		in.waiting = true
		in.cond.Wait()
	}
	in.waiting, in.full = false, false
	return !in.stopped()
}

// setReauthDeadline wakes an idle session for its next re-login. When one
// is due but held back (MULTI, subscribed, a blocked command), it polls
// briefly: a past deadline would make every read fail at once and the
// session would spin without ever reading the client again.
func (in *inspector) setReauthDeadline() {
	if in.reauthEvery <= 0 {
		return
	}
	dl := in.nextReauth
	if now := time.Now(); !dl.After(now) {
		dl = now.Add(reauthRetry)
	}
	_ = in.cr.SetReadDeadline(dl)
}

// finish lets the queued replies drain, then ends the session.
func (in *inspector) finish() {
	in.mu.Lock()
	in.closing = true
	empty := in.q.len() == 0
	in.mu.Unlock()
	if empty {
		in.shutdown()
		return
	}
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		in.shutdown()
	}
}

func (in *inspector) flushUp() error {
	if len(in.upOut) == 0 {
		return nil
	}
	err := in.writeUp(in.upOut)
	if cap(in.upOut) > 1<<20 {
		in.upOut = nil
	} else {
		in.upOut = in.upOut[:0]
	}
	return err
}

// push queues a request; every byte sent upstream is queued behind one.
func (in *inspector) push(r request) {
	r.multi = in.inMulti
	in.mu.Lock()
	in.q.push(r)
	in.full = in.q.len() >= maxPending || in.q.local >= maxOwedLocal
	in.mu.Unlock()
}

// forward queues raw bytes for upstream and the request waiting for their reply.
func (in *inspector) forward(raw []byte, x xform) {
	in.forwardUnsafe(raw, x, false)
}

// forwardUnsafe is forward for a request during which nothing may be
// injected (a blocking command).
func (in *inspector) forwardUnsafe(raw []byte, x xform, unsafe bool) {
	in.push(request{wait: wReply, x: x, unsafe: unsafe})
	if len(raw) >= 64*1024 {
		// A large command: write it straight from the read buffer.
		in.flushUp()
		in.writeUp(raw)
		return
	}
	in.upOut = append(in.upOut, raw...)
}

// send queues a command the proxy built (a rewrite or an injection).
func (in *inspector) send(x xform, args ...[]byte) {
	in.push(request{wait: wReply, x: x})
	in.upOut = appendArgs(in.upOut, args...)
}

func appendArgs(b []byte, args ...[]byte) []byte {
	b = resp.AppendArrayHeader(b, len(args))
	for _, a := range args {
		b = resp.AppendBulk(b, a)
	}
	return b
}

// local answers a command in the proxy, in its place in the reply order.
func (in *inspector) local(reply []byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.q.len() == 0 {
		in.writeClient(reply)
		return
	}
	in.q.push(request{wait: wLocal, local: reply})
	in.full = in.q.len() >= maxPending || in.q.local >= maxOwedLocal
}

// deny answers a refused command; inside MULTI it also dooms the
// transaction, as redis-server does for a command rejected at queue time.
func (in *inspector) deny(msg string) {
	if in.inMulti {
		in.multiDirty = true
	}
	in.local(resp.AppendError(nil, msg))
}

// writeUp writes to the upstream.
func (in *inspector) writeUp(b []byte) error {
	in.cn.sess.BytesIn.Add(int64(len(b)))
	if in.ev != nil {
		return in.ev.up.send(b)
	}
	_, err := in.up.Write(b)
	return err
}

// writeClient writes to the client; mu must be held.
func (in *inspector) writeClient(b []byte) {
	if len(b) == 0 {
		return
	}
	if in.ev != nil {
		if err := in.ev.client.send(b); err != nil && in.ev.werr == nil {
			in.ev.werr = err
		}
		in.cn.sess.BytesOut.Add(int64(len(b)))
		return
	}
	n, _ := in.cn.c.Write(b)
	in.cn.sess.BytesOut.Add(int64(n))
}

// handle decides one parsed client command: forward it as it is, rewrite
// it, or answer it here. raw is its exact wire form.
//
// This is the one decision point of the inspecting relay, in this order:
// the command table (unknown commands), the connection commands the proxy
// owns (AUTH, HELLO, QUIT, CLIENT REPLY), the tenant's policy (role and
// rules), transaction and RESET bookkeeping, pub/sub, and on a shared
// upstream the isolation rules (policy.Isolate). A check that refuses a
// command (a rate or size limit) belongs here, before the policy check,
// and answers with in.deny so that the refusal takes its place in the
// reply order (and dooms a transaction, as Redis does). Every path ends in
// exactly one of forward / send (the upstream answers), pubsub (the
// upstream confirms) or local / deny (the proxy answers): each queues one
// request, which the reply side (routeFull) completes.
func (in *inspector) handle(raw []byte, args [][]byte) {
	c := command.LookupArgs(args)
	if c == nil {
		in.deny(policy.UnknownMessage(args))
		return
	}
	// Connection commands the proxy owns, whatever the role.
	switch c.Name {
	case "auth", "hello":
		if in.inMulti {
			// Redis would queue it and log in or switch protocol only at
			// EXEC, where the relay cannot follow: refuse, which dooms the
			// transaction as any command rejected at queue time does.
			in.deny("ERR redoubt: " + strings.ToUpper(c.Name) + " inside MULTI is not supported")
			return
		}
		if c.Name == "auth" {
			in.reauth(args)
		} else {
			in.hello(args)
		}
		return
	case "quit":
		in.local(replyOK)
		in.quitting = true
		return
	case "client|reply":
		in.deny("ERR CLIENT REPLY is not supported through redoubt: it would break reply ordering")
		return
	}
	if !in.pol.Allowed(c) {
		in.deny(policy.DenyMessage(c, args[0]))
		return
	}
	// Transactions are followed from the commands (the relay must know
	// before the replies come back whether a command will be queued). With
	// a wrong arity Redis refuses MULTI, EXEC and DISCARD without changing
	// the transaction, so those do not change it here either. Should the
	// upstream still end up in a transaction the relay did not see, the
	// +QUEUED a filtered request then gets ends the session (routeFull).
	switch c.Name {
	case "multi":
		in.forward(raw, xNone)
		in.inMulti = in.inMulti || len(args) == 1
		return
	case "exec":
		if in.multiDirty && len(args) == 1 {
			// Clear the upstream's transaction and answer as Redis would.
			in.push(request{wait: wReply, x: xReplace, local: replyExecAbort})
			in.upOut = appendArgs(in.upOut, []byte("DISCARD"))
		} else {
			in.forward(raw, xNone)
		}
		if len(args) == 1 {
			in.inMulti, in.multiDirty = false, false
		} else if in.inMulti {
			in.multiDirty = true
		}
		return
	case "discard":
		in.forward(raw, xNone)
		if len(args) == 1 {
			in.inMulti, in.multiDirty = false, false
		} else if in.inMulti {
			in.multiDirty = true
		}
		return
	case "reset":
		in.reset()
		return
	}
	if isPubSubCommand(c) {
		if in.inMulti {
			in.deny("ERR redoubt: " + strings.ToUpper(c.Name) + " inside MULTI is not supported")
			return
		}
		in.pubsub(c, args)
		return
	}
	if !in.isolated {
		in.forwardUnsafe(raw, xNone, c.Flags.Has(command.FlagBlocking) && !in.inMulti)
		return
	}
	in.isolate(raw, c, args)
}

// reauth answers AUTH on a logged-in session: the same tenant gets OK, a
// wrong secret WRONGPASS, and another tenant's valid credential is refused:
// a connection stays with the tenant it logged in as (one route, one
// policy, one audit trail), never half in one tenant and half in another.
func (in *inspector) reauth(args [][]byte) {
	user, pass, ok := authArgs(args)
	if !ok {
		in.local(replyAuthArity)
		return
	}
	in.local(in.checkReauth(user, pass))
}

func (in *inspector) checkReauth(user, pass []byte) []byte {
	id, err := in.srv.directory().Authenticate(user, pass)
	cur := in.cn.sess.Identity()
	if err != nil {
		in.srv.audit(in.cn.sess, "auth_fail", "reason", reason(err), "reauth", true)
		in.failures++
		if in.failures >= in.srv.limits().MaxAuthFailures {
			in.quitting = true
		}
		return replyWrongPass
	}
	if id.Tenant != cur.Tenant {
		in.srv.audit(in.cn.sess, "auth_refused", "tenant", cur.Tenant, "other_tenant", id.Tenant)
		return []byte("-ERR this connection is logged in as another tenant; open a new connection to switch\r\n")
	}
	in.srv.audit(in.cn.sess, "auth_ok", "tenant", id.Tenant, "method", id.Method, "reauth", true)
	return replyOK
}

// hello forwards HELLO without any AUTH (checked here like AUTH).
func (in *inspector) hello(args [][]byte) {
	h, bad := parseHello(args)
	if bad != nil {
		in.local(bad)
		return
	}
	if h.hasAuth {
		if r := in.checkReauth(h.user, h.pass); r[0] == '-' {
			in.local(r)
			return
		}
	}
	out := [][]byte{[]byte("HELLO")}
	if h.hello.Proto > 0 {
		out = append(out, []byte(strconv.Itoa(h.hello.Proto)))
		if len(h.hello.SetName) > 0 {
			out = append(out, []byte("SETNAME"), h.hello.SetName)
		}
	}
	in.send(xHello, out...)
}

// reset resets the upstream connection, which also logs it out and moves
// it to DB 0, then logs in and re-selects the pinned DB before anything
// else runs. Only RESET's own reply reaches the client. The subscriptions
// and the protocol are forgotten when +RESET comes back (routeFull):
// confirmations still on their way were sent before it.
func (in *inspector) reset() {
	in.send(xReset, []byte("RESET"))
	in.inMulti, in.multiDirty = false, false
	in.injectLogin()
	if in.route.DB != 0 {
		in.send(xSwallow, []byte("SELECT"), []byte(strconv.Itoa(in.route.DB)))
	}
}

// injectLogin queues AUTH with the upstream credentials; its reply is swallowed.
func (in *inspector) injectLogin() {
	t := in.route.Target
	if t.Creds == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	user, pass, err := t.Creds.Credentials(ctx)
	if err != nil {
		in.cn.logger().Warn("upstream credentials for re-login", "err", err)
		return
	}
	if user == "" {
		in.send(xSwallow, []byte("AUTH"), []byte(pass))
	} else {
		in.send(xSwallow, []byte("AUTH"), []byte(user), []byte(pass))
	}
}

// reauthRetry is how often a due but held-back re-login checks again.
const reauthRetry = 100 * time.Millisecond

// maybeReauth logs in again in place (AWS IAM's 12-hour ceiling) when due
// and safe: not inside MULTI, not in RESP2 subscribed mode (where AUTH is
// not allowed) or while a subscription change is unconfirmed, and not
// while a blocking command waits; otherwise it waits for the next safe point.
func (in *inspector) maybeReauth() error {
	if in.reauthEvery <= 0 || time.Now().Before(in.nextReauth) || in.inMulti {
		return nil
	}
	in.mu.Lock()
	unsafe := in.q.unsafe > 0 || !in.proto3 && in.subscribedLocked()
	in.mu.Unlock()
	if unsafe {
		return nil
	}
	in.injectLogin()
	in.nextReauth = time.Now().Add(jitter(in.reauthEvery))
	in.srv.metrics.reauths.Add(1)
	return in.flushUp()
}

func (in *inspector) subscribedLocked() bool {
	return len(in.subs[0])+len(in.subs[1])+len(in.subs[2]) > 0
}

// isolate applies the shared-upstream rules to an allowed command.
func (in *inspector) isolate(raw []byte, c *command.Command, args [][]byte) {
	act, msg := policy.Isolate(c, args, in.db)
	if in.inMulti && needsReplyRewrite(act, c) {
		// Inside MULTI the reply is +QUEUED and the real one arrives inside
		// EXEC's array, out of reach of the filter: refuse rather than leak.
		in.deny("ERR redoubt: '" + c.Name + "' cannot run inside MULTI on a shared upstream")
		return
	}
	switch act {
	case policy.Allow:
		in.forwardUnsafe(raw, xNone, c.Flags.Has(command.FlagBlocking) && !in.inMulti)
	case policy.Deny:
		in.deny(msg)
	case policy.SelectPinned:
		in.forward(raw, xNone) // SELECT of the pinned DB changes nothing
	case policy.RewriteFlushAll:
		out := [][]byte{[]byte("FLUSHDB")}
		out = append(out, args[1:]...)
		in.send(xNone, out...)
	case policy.FilterInfoKeyspace:
		in.forward(raw, xInfo)
	case policy.FilterClientList:
		in.forward(raw, xClientList)
	case policy.PrefixPubSub:
		in.pubsub(c, args)
	default:
		in.deny("ERR command not supported through redoubt on a shared upstream")
	}
}

func needsReplyRewrite(act policy.Action, c *command.Command) bool {
	switch act {
	case policy.FilterInfoKeyspace, policy.FilterClientList:
		return true
	case policy.PrefixPubSub:
		return c.Name != "publish" && c.Name != "spublish"
	}
	return false
}

// errUpstreamGone answers requests that were pending when the upstream died.
var errUpstreamGone = []byte("-ERR upstream connection lost\r\n")
