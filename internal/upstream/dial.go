package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// ErrUnavailable is what a client learns when its upstream cannot be reached
// or refuses the proxy's login; the cause goes to the log only, because it
// may name addresses the tenant should not learn.
var ErrUnavailable = errors.New("upstream unavailable")

// LoginOptions say what the session needs from the upstream connection.
type LoginOptions struct {
	DB int // SELECT this index after login when non-zero
	// Hello, when non-nil, is the client's HELLO: its protocol version and
	// SETNAME are sent upstream with the proxy's credentials in place of the
	// client's, and the upstream's reply is returned for the client.
	Hello *Hello
	// ClientName is a connection name the client itself set before
	// logging in, sent with CLIENT SETNAME (empty: none). The proxy never
	// names a client's connection: the name is the client's to set and read.
	ClientName string
	// WantClientID asks for the connection's CLIENT ID (inspected sessions
	// use it to show a tenant only its own connections in CLIENT LIST).
	WantClientID bool
}

// Hello is a client's HELLO request minus its AUTH.
type Hello struct {
	Proto   int // 0 = HELLO without a version
	SetName []byte
}

// Conn is a logged-in upstream connection.
type Conn struct {
	net.Conn
	// HelloReply is the upstream's raw reply to HELLO (nil when no HELLO was sent).
	HelloReply []byte
	// Rest holds bytes read past the login replies (normally none).
	Rest []byte
	// ClientID is the upstream's CLIENT ID when asked for, else 0.
	ClientID int64
}

// Repairer is implemented by Credentials that can fix a refused login
// (managed per-tenant users: the upstream restarted without them).
type Repairer interface {
	// Repair fixes the login unless that was done after since (when the
	// failed attempt began): many sessions fail at once after a restart.
	Repair(ctx context.Context, since time.Time) error
}

// errLoginRefused marks an AUTH or HELLO AUTH the upstream refused
// (WRONGPASS, NOAUTH, ...).
var errLoginRefused = errors.New("login refused")

// Dial connects to t, logs in and selects the DB. Every failure is wrapped
// with context for the log; callers show clients only ErrUnavailable.
// When the login is refused and t's credentials are a Repairer, they are
// repaired and the dial is tried once more.
func Dial(ctx context.Context, t *Target, opts LoginOptions) (*Conn, error) {
	start := time.Now()
	c, err := dialOnce(ctx, t, opts)
	if err == nil || !errors.Is(err, errLoginRefused) {
		return c, err
	}
	r, ok := t.Creds.(Repairer)
	if !ok {
		return nil, err
	}
	if rerr := r.Repair(ctx, start); rerr != nil {
		return nil, fmt.Errorf("%w (repair: %v)", err, rerr)
	}
	return dialOnce(ctx, t, opts)
}

func dialOnce(ctx context.Context, t *Target, opts LoginOptions) (*Conn, error) {
	timeout := t.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return nil, fmt.Errorf("dial upstream %s: %w", t.Name, err)
	}
	// net.Dialer already enables TCP keep-alive (15 s) on the connection.
	conn := raw
	if t.TLS != nil {
		tc := tls.Client(raw, t.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake with upstream %s: %w", t.Name, err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	uc, err := login(ctx, conn, t, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return uc, nil
}

// login pipelines the login commands and reads their replies in order.
func login(ctx context.Context, conn net.Conn, t *Target, opts LoginOptions) (*Conn, error) {
	var user, pass string
	if t.Creds != nil {
		var err error
		if user, pass, err = t.Creds.Credentials(ctx); err != nil {
			return nil, fmt.Errorf("credentials for upstream %s: %w", t.Name, err)
		}
	}
	// One allocation large enough for every command below, so the buffer
	// that holds the password is never outgrown and left behind uncleared.
	req := make([]byte, 0, 256+len(user)+len(pass)+len(opts.ClientName)+helloNameLen(opts.Hello))
	var stepsBuf [5]string // auth, hello, select, setname, id
	steps := stepsBuf[:0]
	if opts.Hello != nil {
		args := []string{"HELLO"}
		if opts.Hello.Proto > 0 {
			args = append(args, strconv.Itoa(opts.Hello.Proto))
			if pass != "" {
				u := user
				if u == "" {
					u = "default" // HELLO AUTH always takes a username
				}
				args = append(args, "AUTH", u, pass)
			}
		}
		if len(opts.Hello.SetName) > 0 && opts.Hello.Proto > 0 {
			args = append(args, "SETNAME", string(opts.Hello.SetName))
		}
		if pass != "" && opts.Hello.Proto == 0 {
			// HELLO without a version cannot carry AUTH: log in first.
			req = appendAuth(req, user, pass)
			steps = append(steps, "auth")
		}
		req = resp.AppendCommand(req, args...)
		steps = append(steps, "hello")
	} else if pass != "" {
		req = appendAuth(req, user, pass)
		steps = append(steps, "auth")
	}
	if opts.DB != 0 {
		req = resp.AppendCommand(req, "SELECT", strconv.Itoa(opts.DB))
		steps = append(steps, "select")
	}
	if opts.ClientName != "" && (opts.Hello == nil || len(opts.Hello.SetName) == 0) {
		req = resp.AppendCommand(req, "CLIENT", "SETNAME", opts.ClientName)
		steps = append(steps, "setname")
	}
	if opts.WantClientID {
		req = resp.AppendCommand(req, "CLIENT", "ID")
		steps = append(steps, "id")
	}
	if len(steps) == 0 {
		return &Conn{Conn: conn}, nil
	}
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("send login to upstream %s: %w", t.Name, err)
	}
	clear(req) // it held the upstream password

	uc := &Conn{Conn: conn}
	lim := resp.DefaultLimits()
	// The replies are a few bytes (+OK, :id) or a HELLO map of a few
	// hundred; the buffer grows when more arrives.
	buf := make([]byte, 0, 512)
	for _, step := range steps {
		var v resp.Value
		var n int
		for {
			var err error
			v, n, err = resp.ParseValue(buf, &lim)
			if err == nil {
				break
			}
			if !errors.Is(err, resp.ErrIncomplete) {
				return nil, fmt.Errorf("upstream %s login reply: %w", t.Name, err)
			}
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			m, err := conn.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if err != nil {
				return nil, fmt.Errorf("upstream %s login: read: %w", t.Name, err)
			}
		}
		if (v.Type == '-' || v.Type == '!') && step == "id" {
			// A server without CLIENT ID still serves the session; it is
			// only not listed by id (and an inspected CLIENT LIST shows none).
			buf = buf[n:]
			continue
		}
		if v.Type == '-' || v.Type == '!' {
			// The upstream may echo what it was sent, the password too.
			msg := RedactReply(v.Str, user, pass, opts.ClientName, helloName(opts.Hello))
			if (step == "auth" || step == "hello") && (bytes.HasPrefix(v.Str, []byte("WRONGPASS")) || bytes.HasPrefix(v.Str, []byte("NOAUTH"))) {
				return nil, fmt.Errorf("upstream %s refused %s: %s: %w", t.Name, step, msg, errLoginRefused)
			}
			return nil, fmt.Errorf("upstream %s refused %s: %s", t.Name, step, msg)
		}
		if step == "id" {
			uc.ClientID = v.Int
		}
		if step == "hello" {
			uc.HelloReply = append([]byte(nil), buf[:n]...)
		}
		buf = buf[n:]
	}
	if len(buf) > 0 {
		uc.Rest = append([]byte(nil), buf...)
	}
	return uc, nil
}

func helloNameLen(h *Hello) int {
	if h == nil {
		return 0
	}
	return len(h.SetName)
}

func appendAuth(b []byte, user, pass string) []byte {
	if user == "" {
		return resp.AppendCommand(b, "AUTH", pass)
	}
	return resp.AppendCommand(b, "AUTH", user, pass)
}

func helloName(h *Hello) string {
	if h == nil {
		return ""
	}
	return string(h.SetName)
}
