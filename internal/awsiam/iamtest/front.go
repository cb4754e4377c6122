package iamtest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Replies as ElastiCache (redis-server) words them.
const (
	replyNoAuth      = "-NOAUTH Authentication required.\r\n"
	replyHelloNoAuth = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
	replyWrongPass   = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
	replyAuthArity   = "-ERR wrong number of arguments for 'auth' command\r\n"
	replyNoBackend   = "-ERR iamtest: backend unavailable\r\n"
)

// How the Front keeps replies in order. Once a connection is logged in, an
// AUTH (or HELLO ... AUTH) may arrive while replies to earlier pipelined
// commands are still on their way from the backend, so the Front cannot
// answer it itself without framing and counting the backend's replies
// (which pub/sub pushes make ambiguous). Instead it verifies the token and
// forwards, in the AUTH's place, an AUTH the backend answers the way
// ElastiCache would have: "AUTH default x" (redis-server's default user has
// no password, so it answers +OK and changes nothing) for a good token, and
// "AUTH <no such user> x" (answered -WRONGPASS, the session stays logged
// in) for a bad one. The token itself never reaches the backend. The reply
// then arrives in order, and the backend stream is copied byte for byte.
// The first login is forwarded the same way; before it nothing is
// forwarded, so the Front's own NOAUTH and WRONGPASS replies are in order too.
const (
	goodUser = "default"
	badUser  = "iamtest-rejected"
	anyPass  = "iamtest"
)

// Front is a TLS RESP server standing in for an ElastiCache endpoint with IAM
// authentication, in front of a real redis-server. See the package comment.
type Front struct {
	// Addr is the TLS listener's host:port.
	Addr string

	backend string
	want    Expect
	creds   aws.Credentials
	maxAge  time.Duration
	clock   func() time.Time
	ln      net.Listener

	accepted, rejected, reauths, forced atomic.Int64
	lastRejection                       atomic.Pointer[error]

	mu    sync.Mutex
	conns map[*frontConn]struct{}
	wg    sync.WaitGroup
	stop  chan struct{}
}

// StartFront listens on a loopback port with tlsConf and relays logged-in
// connections to backendAddr, a plain-TCP redis-server without a password
// (redistest.Start). Tokens must match want, signed with creds, and be valid
// at clock(). A logged-in connection whose last accepted AUTH is maxAge old
// is closed (0 disables this). A nil clock means time.Now. The Front stops
// when the test ends.
//
// tlsConf is a parameter the sketch did not have: ElastiCache with
// IAM authentication only speaks TLS, so neither does the Front.
func StartFront(tb testing.TB, backendAddr string, tlsConf *tls.Config, want Expect, creds aws.Credentials, maxAge time.Duration, clock func() time.Time) *Front {
	tb.Helper()
	if tlsConf == nil {
		tb.Fatal("iamtest: StartFront needs a TLS config: ElastiCache IAM auth requires TLS")
	}
	if clock == nil {
		clock = time.Now
	}
	checkBackend(tb, backendAddr)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("iamtest: listen: %v", err)
	}
	f := &Front{
		Addr: ln.Addr().String(), backend: backendAddr, want: want, creds: creds,
		maxAge: maxAge, clock: clock, ln: tls.NewListener(ln, tlsConf),
		conns: make(map[*frontConn]struct{}), stop: make(chan struct{}),
	}
	f.wg.Add(1)
	go f.acceptLoop()
	if maxAge > 0 {
		f.wg.Add(1)
		go f.reapLoop()
	}
	tb.Cleanup(f.Close)
	return f
}

// checkBackend makes sure the backend answers "AUTH default x" with +OK,
// which the ordering scheme above relies on.
func checkBackend(tb testing.TB, addr string) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		tb.Fatalf("iamtest: backend %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(appendCommand(nil, []byte("AUTH"), []byte(goodUser), []byte(anyPass))); err != nil {
		tb.Fatalf("iamtest: backend %s: %v", addr, err)
	}
	line, err := readLine(bufio.NewReader(c))
	if err != nil || string(line) != "+OK" {
		tb.Fatalf("iamtest: backend %s must be a redis-server whose default user has no password (AUTH default x: %q, %v)", addr, line, err)
	}
}

// Accepted counts AUTHs (and HELLO ... AUTHs) with a good token, first
// logins and re-logins alike.
func (f *Front) Accepted() int64 { return f.accepted.Load() }

// Reauths counts accepted AUTHs on connections that were already logged in.
func (f *Front) Reauths() int64 { return f.reauths.Load() }

// Rejected counts AUTHs refused with WRONGPASS.
func (f *Front) Rejected() int64 { return f.rejected.Load() }

// ForcedCloses counts connections closed for not logging in again within
// maxAge.
func (f *Front) ForcedCloses() int64 { return f.forced.Load() }

// LastRejection is why the last refused token was refused (nil if none), to
// make a failing test say more than WRONGPASS. It never contains the token.
func (f *Front) LastRejection() error {
	if e := f.lastRejection.Load(); e != nil {
		return *e
	}
	return nil
}

// Close stops the listener, closes every connection and waits for them.
func (f *Front) Close() {
	select {
	case <-f.stop:
		return
	default:
		close(f.stop)
	}
	_ = f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.shut()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *Front) acceptLoop() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		c := &frontConn{f: f, client: nc}
		f.mu.Lock()
		select {
		case <-f.stop:
			f.mu.Unlock()
			_ = nc.Close()
			return
		default:
		}
		f.conns[c] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go c.serve()
	}
}

// reapLoop closes connections whose last login is maxAge old. It polls so
// that it follows a fake clock as well as the real one.
func (f *Front) reapLoop() {
	defer f.wg.Done()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		now := f.clock()
		f.mu.Lock()
		for c := range f.conns {
			last := c.lastAuth.Load()
			if last != nil && !now.Before(last.Add(f.maxAge)) && c.closed.CompareAndSwap(false, true) {
				f.forced.Add(1)
				c.closeConns()
			}
		}
		f.mu.Unlock()
	}
}

// verify checks one AUTH's user and token and counts the outcome.
func (f *Front) verify(user, token []byte, loggedIn bool) bool {
	want := f.want
	err := VerifyToken(string(token), want, f.creds, f.clock())
	if err == nil && string(user) != want.User {
		err = errors.New("iamtest: AUTH user differs from the token's User")
	}
	if err != nil {
		f.rejected.Add(1)
		f.lastRejection.Store(&err)
		return false
	}
	f.accepted.Add(1)
	if loggedIn {
		f.reauths.Add(1)
	}
	return true
}

// authArgs finds the user and token of AUTH user token, or of HELLO's AUTH
// option, and the index of the user. ok is false if there are none.
func authArgs(args [][]byte) (at int, ok bool) {
	switch {
	case bytes.EqualFold(args[0], []byte("AUTH")):
		return 1, len(args) == 3
	case bytes.EqualFold(args[0], []byte("HELLO")):
		// HELLO protover [AUTH user pass] [SETNAME name], options in any order.
		for i := 2; i < len(args); i += 2 {
			if bytes.EqualFold(args[i], []byte("AUTH")) {
				return i + 1, i+2 < len(args)
			}
		}
	}
	return 0, false
}
