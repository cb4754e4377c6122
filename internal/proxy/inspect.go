package proxy

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// The inspecting relay is split by job:
//   inspect.go            the decision point (handle) and the requests it queues
//   inspect_client.go     reading the client: parse, back-pressure, request memory
//   inspect_replies.go    the reply side: framing, matching replies to requests, filters
//   inspect_goroutines.go how bytes move on TLS sessions (two goroutines)
//   evinspect.go          how bytes move on the event loops (plain TCP)
//   request.go            what a pending request waits for

// inspector is the inspecting relay of one session: every client command
// is parsed and checked, then forwarded, rewritten or answered locally, and
// one queue keeps the client's replies in request order.
//
// The client side (processClient, handle: parse, decide, write upstream)
// queues one request per command; the reply side (consume, routeFull in
// inspect_replies.go) completes them from what the upstream sends. On
// TLS sessions they are two goroutines; on the event loops (evinspect.go)
// the loop runs both. mu guards the queue, the upstream-confirmed state
// (subscriptions, protocol) and every write to the client.
type inspector struct {
	srv   *Server
	cn    *conn
	up    *upstream.Conn
	route *tenant.Route
	pol   *policy.Policy
	obs   TenantObserver
	timed bool // an Observer is set: stamp commands for the latency metric
	// cmdName is the command being decided (empty when unknown), for the
	// audit line of a refusal.
	cmdName string

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

	// fair sharing (fairshare.go): the tenant's limits, and when a
	// session held back by a rate limit on an event loop may read again
	gate       *limit.Gate
	pauseUntil time.Time
	drop       *resp.ReplyScanner // frames a command over max_request_bytes while it is dropped
	dropped    int64
	held       bool        // event loop: parsing stopped for a pause or a KEYS iteration
	keys       *keysIter   // a KEYS answered by a SCAN iteration (keyscan.go); mu
	keysBusy   atomic.Bool // keys is running: the client side sends nothing

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

// handle decides one parsed client command: forward it as it is, rewrite
// it, or answer it here. raw is its exact wire form.
//
// This is the one decision point of the inspecting relay, in this order:
// the command table (unknown commands), the connection commands the proxy
// owns (AUTH, HELLO, QUIT, CLIENT REPLY), the tenant's policy (role and
// rules), transaction and RESET bookkeeping, pub/sub, and on a shared
// upstream the isolation rules (policy.Isolate). The tenant's fair-sharing
// limits (admit, fairshare.go) are checked just before, with the same
// command-table entry c (nil: not a known command): a refusal takes its
// place in the reply order and dooms a transaction, as Redis does, and a
// rate pause leaves the command undecided in the read buffer. Every path ends in
// exactly one of forward / send (the upstream answers), pubsub (the
// upstream confirms) or local / deny (the proxy answers): each queues one
// request, which the reply side (routeFull) completes.
func (in *inspector) handle(c *command.Command, raw []byte, args [][]byte) {
	in.cmdName = ""
	if c != nil {
		in.cmdName = c.Name
	}
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
	if c.Name == "keys" && len(args) == 2 && !in.inMulti {
		in.keysScan(args[1]) // a SCAN iteration, not a server stall (keyscan.go)
		return
	}
	if !in.isolated {
		in.forwardUnsafe(raw, xNone, c.Flags.Has(command.FlagBlocking) && !in.inMulti)
		return
	}
	in.isolate(raw, c, args)
}

// decide looks a parsed command up once, runs it past the tenant's
// fair-sharing limits (admit, fairshare.go) and then decides it (handle).
// pause: a rate limit holds the session back on an event loop, and the
// command stays undecided in the read buffer until the loop resumes it.
func (in *inspector) decide(raw []byte, args [][]byte) (pause bool) {
	c := command.LookupArgs(args)
	ok, pause := in.admit(c, raw, args)
	if ok {
		in.handle(c, raw, args)
	}
	return pause
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
	r := request{wait: wReply, x: x, unsafe: unsafe}
	if in.timed && x == xNone && !unsafe {
		r.sent = time.Now() // for the command latency metric; blocking commands would skew it
	}
	in.push(r)
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
	why := denyReason(msg)
	if in.obs != nil {
		in.obs.Denied(why)
	}
	in.srv.audit(in.cn.sess, "command_denied", "command", in.cmdName, "reason", why)
	in.local(resp.AppendError(nil, msg))
}

// reauth answers AUTH on a logged-in session: the same tenant gets OK, a
// wrong secret WRONGPASS, and another tenant's valid credential is refused:
// a connection stays with the tenant it logged in as (one route, one
// policy, one audit trail), never half in one tenant and half in another.
func (in *inspector) reauth(args [][]byte) {
	user, pass, ok := authArgs(args)
	if !ok {
		in.local(authArityReply(args))
		return
	}
	in.local(in.checkReauth(user, pass))
}

// checkReauth answers one AUTH on the session (see Server.reauth): one
// WRONGPASS for every refusal, another tenant's valid credential included.
func (in *inspector) checkReauth(user, pass []byte) []byte {
	if in.srv.reauth(in.cn.sess, user, pass) {
		return replyOK
	}
	in.failures++
	if in.failures >= in.srv.limits().MaxAuthFailures {
		in.quitting = true
	}
	return replyWrongPass
}

// hello forwards HELLO without any AUTH (checked here like AUTH).
func (in *inspector) hello(args [][]byte) {
	h, bad := parseHello(args)
	if bad != nil {
		in.local(bad)
		return
	}
	// Options apply in order, as in redis-server (see helloRequest.walk).
	if stop := h.walk(func(user, pass []byte) []byte {
		if r := in.checkReauth(user, pass); r[0] == '-' {
			return r
		}
		return nil
	}); stop != nil {
		if h.nameSet { // a name set before the failing option stays set
			in.send(xSwallow, []byte("CLIENT"), []byte("SETNAME"), h.hello.SetName)
		}
		in.local(stop)
		return
	}
	out := [][]byte{[]byte("HELLO")}
	if h.hello.Proto > 0 {
		out = append(out, []byte(strconv.Itoa(h.hello.Proto)))
		if h.nameSet {
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

// isolate applies the shared-upstream rules to an allowed command.
func (in *inspector) isolate(raw []byte, c *command.Command, args [][]byte) {
	act, msg := policy.IsolateIn(c, args, policy.Scope{DB: in.db, TenantUser: in.route.TenantUser})
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

func (in *inspector) subscribedLocked() bool {
	return len(in.subs[0])+len(in.subs[1])+len(in.subs[2]) > 0
}

// errUpstreamGone answers requests that were pending when the upstream died.
var errUpstreamGone = []byte("-ERR upstream connection lost\r\n")
