package iamtest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/redoubt-proxy/redoubt/internal/awsiam"
	"github.com/redoubt-proxy/redoubt/internal/awsiam/iamtest"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

var (
	testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	testLogin = awsiam.Config{CacheName: "front-cache", User: "proxy", Region: "eu-west-1", Lifetime: time.Minute}
	testWant  = iamtest.Expect{CacheName: "front-cache", User: "proxy", Region: "eu-west-1", Lifetime: time.Minute}
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// token signs a token for login with the SDK signer at clk's time.
func token(t *testing.T, login awsiam.Config, clk *clock) string {
	t.Helper()
	p, err := awsiam.NewProvider(login, credentials.NewStaticCredentialsProvider(testCreds.AccessKeyID, testCreds.SecretAccessKey, ""), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is a raw RESP client over TLS.
type client struct {
	t *testing.T
	c *tls.Conn
	r *bufio.Reader
}

func dial(t *testing.T, f *iamtest.Front, cert *iamtest.Cert) *client {
	t.Helper()
	c, err := tls.Dial("tcp", f.Addr, cert.Client)
	if err != nil {
		t.Fatalf("dial front: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

// send writes all commands in one write: a pipeline.
func (c *client) send(cmds ...[]string) {
	c.t.Helper()
	var b strings.Builder
	for _, args := range cmds {
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := io.WriteString(c.c, b.String()); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one reply and renders it on one line: simple replies as sent,
// bulks as their text, aggregates as their type byte and elements.
func (c *client) reply() string {
	c.t.Helper()
	s, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return s
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "(nil)", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*', '%':
		n, _ := strconv.Atoi(line[1:])
		if line[0] == '%' {
			n *= 2
		}
		parts := []string{line[:1]}
		for i := 0; i < n; i++ {
			s, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " "), nil
	}
	return line, nil
}

func (c *client) expect(want ...string) {
	c.t.Helper()
	for i, w := range want {
		if got := c.reply(); got != w {
			c.t.Fatalf("reply %d = %q, want %q", i, got, w)
		}
	}
}

func startFront(t *testing.T, maxAge time.Duration, clk *clock) (*iamtest.Front, *iamtest.Cert) {
	t.Helper()
	backend := redistest.Start(t)
	cert := iamtest.SelfSigned(t)
	return iamtest.StartFront(t, backend.Addr, cert.Server, testWant, testCreds, maxAge, clk.Now), cert
}

const wrongPass = "-WRONGPASS invalid username-password pair or user is disabled."

func TestFrontLogin(t *testing.T) {
	clk := &clock{now: time.Now()}
	f, cert := startFront(t, 0, clk)
	other := testLogin
	other.CacheName = "other-cache"
	c := dial(t, f, cert)

	c.send([]string{"GET", "k"}, []string{"HELLO", "3"}, []string{"AUTH", "proxy", token(t, other, clk)}, []string{"AUTH", "tok"})
	c.expect("-NOAUTH Authentication required.", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time", wrongPass, wrongPass)

	// Pipelined behind the login: the GET must be relayed, after the +OK.
	c.send([]string{"AUTH", "proxy", token(t, testLogin, clk)}, []string{"SET", "k", "v"}, []string{"GET", "k"})
	c.expect("+OK", "+OK", "v")
	if f.Accepted() != 1 || f.Rejected() != 2 || f.Reauths() != 0 {
		t.Fatalf("accepted %d rejected %d reauths %d, want 1 2 0", f.Accepted(), f.Rejected(), f.Reauths())
	}
	if f.LastRejection() == nil {
		t.Fatal("LastRejection is nil after a rejection")
	}
}

func TestFrontRejectsExpiredToken(t *testing.T) {
	clk := &clock{now: time.Now()}
	f, cert := startFront(t, 0, clk)
	tok := token(t, testLogin, clk)
	clk.Add(testLogin.Lifetime)
	c := dial(t, f, cert)
	c.send([]string{"AUTH", "proxy", tok}, []string{"PING"})
	c.expect(wrongPass, "-NOAUTH Authentication required.")
}

func TestFrontHelloAuth(t *testing.T) {
	clk := &clock{now: time.Now()}
	f, cert := startFront(t, 0, clk)
	c := dial(t, f, cert)
	c.send([]string{"HELLO", "3", "AUTH", "proxy", token(t, testLogin, clk), "SETNAME", "n1"}, []string{"CLIENT", "GETNAME"})
	if got := c.reply(); !strings.HasPrefix(got, "% server redis") {
		t.Fatalf("HELLO reply = %q, want the backend's RESP3 map", got)
	}
	c.expect("n1")
}

// An AUTH after login is answered in its place in a pipeline: replies to the
// commands around it keep their order, good and bad tokens alike.
func TestFrontReauthInPipeline(t *testing.T) {
	clk := &clock{now: time.Now()}
	f, cert := startFront(t, 0, clk)
	c := dial(t, f, cert)
	c.send([]string{"AUTH", "proxy", token(t, testLogin, clk)}, []string{"SELECT", "2"})
	c.expect("+OK", "+OK")

	bad := token(t, testLogin, clk)
	bad = bad[:len(bad)-1] + map[bool]string{true: "1", false: "0"}[bad[len(bad)-1] == '0']
	c.send(
		[]string{"SET", "k", "v"},
		[]string{"AUTH", "proxy", token(t, testLogin, clk)},
		[]string{"GET", "k"},
		[]string{"AUTH", "proxy", bad},
		[]string{"HELLO", "2", "AUTH", "proxy", token(t, testLogin, clk)},
		[]string{"GET", "k"},
	)
	c.expect("+OK", "+OK", "v", wrongPass)
	if got := c.reply(); !strings.HasPrefix(got, "* server redis") {
		t.Fatalf("HELLO reply = %q, want the backend's map as a RESP2 array", got)
	}
	c.expect("v") // still in DB 2: no AUTH reset the backend session
	if f.Accepted() != 3 || f.Reauths() != 2 || f.Rejected() != 1 {
		t.Fatalf("accepted %d reauths %d rejected %d, want 3 2 1", f.Accepted(), f.Reauths(), f.Rejected())
	}
}

// A connection is closed MaxAge after its last accepted AUTH, not after it
// opened: re-logins keep it alive, as on ElastiCache.
func TestFrontMaxAge(t *testing.T) {
	const maxAge = time.Hour
	clk := &clock{now: time.Now()}
	f, cert := startFront(t, maxAge, clk)
	c := dial(t, f, cert)
	c.send([]string{"AUTH", "proxy", token(t, testLogin, clk)})
	c.expect("+OK")

	clk.Add(maxAge - time.Minute)
	waitTicks()
	c.send([]string{"AUTH", "proxy", token(t, testLogin, clk)}, []string{"PING"})
	c.expect("+OK", "+PONG")

	clk.Add(maxAge - time.Minute) // 2h-2m after the first login, 59m after the last
	waitTicks()
	c.send([]string{"PING"})
	c.expect("+PONG")
	if n := f.ForcedCloses(); n != 0 {
		t.Fatalf("ForcedCloses = %d before MaxAge, want 0", n)
	}

	clk.Add(time.Minute)
	if _, err := readReply(c.r); err == nil {
		t.Fatal("connection still open MaxAge after its last login")
	}
	if n := f.ForcedCloses(); n != 1 {
		t.Fatalf("ForcedCloses = %d, want 1", n)
	}
}

// waitTicks lets the Front's reaper, which polls the clock every 5ms, run a
// few times.
func waitTicks() { time.Sleep(30 * time.Millisecond) }
