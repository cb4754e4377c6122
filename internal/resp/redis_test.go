package resp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// These tests hold ParseCommand to the real redis-server: for every input,
// redis must reply with our protocol error text, execute exactly the
// arguments we parsed, or keep waiting when we say ErrIncomplete.

var long = strings.Repeat("1", 64*1024+1)

func TestParseCommandAgainstRedis(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct{ desc, in string }{
		{"multibulk ECHO", "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n"},
		{"empty bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"},
		{"bulk holding CRLF", "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n"},
		{"payload terminator unchecked", "*2\r\n$4\r\nECHO\r\n$3\r\nabcXY"},
		{"count terminator unchecked", "*2\rX$4\r\nECHO\r\n$1\r\nz\r\n"},
		{"bulk header terminator unchecked", "*2\r\n$4\rXECHO\r\n$1\r\nz\r\n"},
		{"EVAL returns its args", "*6\r\n$4\r\nEVAL\r\n$11\r\nreturn ARGV\r\n$1\r\n0\r\n$1\r\nx\r\n$0\r\n\r\n$3\r\na\x00b\r\n"},
		{"zero count", "*0\r\n"},
		{"minus one count", "*-1\r\n"},
		{"negative count", "*-5\r\n"},
		{"non-numeric count", "*abc\r\n"},
		{"empty count", "*\r\n"},
		{"minus zero count", "*-0\r\n"},
		{"leading zero count", "*01\r\n"},
		{"plus count", "*+1\r\n"},
		{"space after count", "*1 \r\n"},
		{"count over INT_MAX", "*2147483648\r\n"},
		{"missing dollar", "*1\r\nfoo\r\n"},
		{"CR where dollar belongs", "*1\r\n\r\n"},
		{"LF where dollar belongs", "*1\r\n\n\r\n"},
		{"second arg missing dollar", "*2\r\n$1\r\na\r\n:1\r\n"},
		{"negative bulk", "*1\r\n$-1\r\n"},
		{"non-numeric bulk", "*1\r\n$abc\r\n"},
		{"empty bulk length", "*1\r\n$\r\n"},
		{"int64 max bulk", "*1\r\n$9223372036854775807\r\n"},
		{"huge bulk", "*1\r\n$99999999999\r\n"},
		{"bulk over 512MiB", "*1\r\n$536870913\r\n"},
		{"too big mbulk count", "*" + long},
		{"NUL hides count CR", "*1\x00\r\n" + long},
		{"too big bulk count", "*1\r\n$" + long},
		{"too big inline", "A" + long},
		{"NUL hides inline newline", "PING\x00\n" + long},
		{"unbalanced double quote", "ECHO \"abc\r\n"},
		{"unbalanced single quote", "ECHO 'abc\r\n"},
		{"text after closing quote", "ECHO \"abc\"def\r\n"},
		{"text after closing single quote", "ECHO 'a'b\n"},
		{"backslash ends quote", "ECHO \"abc\\\n"},
		{"inline PING", "PING\r\n"},
		{"inline LF only", "ECHO a\n"},
		{"inline empty line", "\r\n"},
		{"inline blanks", " \t \n"},
		{"inline tab", "ECHO\t a\r\n"},
		{"inline high bytes", "ECHO \xff\xfe\n"},
		{"inline bad hex escape", "ECHO \"\\xzz\"\n"},
		{"inline quoting", "EVAL \"return ARGV\" 0 a\rb c\vd \f \"\" 'x y' \"\\x41\\x4a\\n\\q\\\"\" foo\"bar baz\" 'it\\'s \\n'\n"},
		{"incomplete bulk", "*1\r\n$4\r\nPI"},
		{"dollar check waits for CR", "*1\r\nfoo"},
		{"NUL in count waits", "*1\x00\r\n$4\r\nPING\r\n"},
		{"NUL in inline waits", "PI\x00NG\r\n"},
		// Above what this parser once capped: redis accepts both.
		{"count above 1M", "*1048577\r\n$4\r\nECHO\r\n$1\r\nz\r\n"},
		{"70,000-byte inline in one write", "ECHO " + strings.Repeat("a", 70000) + "\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) { agreeWithRedis(t, srv.Addr, tc.in, nil, true) })
	}
}

func TestPreAuthAgainstRedis(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "x")
	lim := &Limits{PreAuth: true}
	tests := []struct{ desc, in string }{
		{"11 args", "*11\r\n"},
		{"10 args", "*10\r\n" + strings.Repeat("$1\r\na\r\n", 10)},
		{"bulk 16385", "*2\r\n$4\r\nECHO\r\n$16385\r\n"},
		{"bulk 16384", "*2\r\n$4\r\nECHO\r\n$16384\r\n" + strings.Repeat("x", 16384) + "\r\n"},
		{"invalid count before auth check", "*2147483648\r\n"},
		{"invalid bulk before auth check", "*1\r\n$-2\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) { agreeWithRedis(t, srv.Addr, tc.in, lim, false) })
	}
}

// agreeWithRedis parses in and checks redis-server at addr agrees. With
// mustSucceed, a command we parse must not fail in redis either (so that
// the comparison of replies is a comparison of arguments).
func agreeWithRedis(t *testing.T, addr, in string, lim *Limits, mustSucceed bool) {
	t.Helper()
	var cmd Command
	n, err := ParseCommand([]byte(in), &cmd, lim)
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		got := readAll(t, addr, in)
		if want := "-ERR " + pe.Error() + "\r\n"; got != want {
			t.Fatalf("redis replied %q, we say %q", got, want)
		}
	case err == ErrIncomplete:
		c := dial(t, addr)
		write(t, c, in)
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var b [64]byte
		k, rerr := c.Read(b[:])
		var ne net.Error
		if !errors.As(rerr, &ne) || !ne.Timeout() {
			t.Fatalf("we wait for more, redis replied %q, %v", b[:k], rerr)
		}
	case err != nil:
		t.Fatalf("unexpected error %v", err)
	case n != len(in):
		t.Fatalf("consumed %d of %d bytes", n, len(in))
	case len(cmd.Args) == 0:
		// A no-op for both: the next command is answered normally.
		c := dial(t, addr)
		write(t, c, in+"*1\r\n$4\r\nPING\r\n")
		if got := readReply(t, c); got != "+PONG\r\n" && got != "-NOAUTH Authentication required.\r\n" {
			t.Fatalf("after no-op redis replied %q", got)
		}
	default:
		c := dial(t, addr)
		write(t, c, in)
		got := readReply(t, c)
		ours := dial(t, addr)
		write(t, ours, string(AppendCommandBytes(nil, cmd.Args)))
		want := readReply(t, ours)
		if got != want {
			t.Fatalf("redis replied %q to the input, %q to our args %q", got, want, cmd.Args)
		}
		if mustSucceed && strings.HasPrefix(got, "-") {
			t.Fatalf("redis failed the command: %q", got)
		}
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readAll sends in and returns everything redis writes until it closes.
func readAll(t *testing.T, addr, in string) string {
	t.Helper()
	c := dial(t, addr)
	write(t, c, in)
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	return string(b)
}

// readReply reads exactly one reply, framed by our ReplyScanner.
func readReply(t *testing.T, c net.Conn) string {
	t.Helper()
	var out bytes.Buffer
	s := NewReplyScanner(DefaultLimits())
	buf := make([]byte, 4096)
	for {
		k, err := c.Read(buf)
		if k > 0 {
			n, done, serr := s.Scan(buf[:k])
			if serr != nil {
				t.Fatalf("scan %q: %v", buf[:k], serr)
			}
			out.Write(buf[:n])
			if done {
				if n != k {
					t.Fatalf("extra bytes after reply: %q", buf[n:k])
				}
				return out.String()
			}
		}
		if err != nil {
			t.Fatalf("read reply: %v (got %q)", err, out.String())
		}
	}
}
