package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// After login the gateway accepts what redis-server accepts: replies and
// requests of more than 1,048,576 elements, and an inline command longer
// than 64 KiB whose newline came with it. It limits what it must keep, not
// what it streams.
func TestRedisLimitsAfterLogin(t *testing.T) {
	s := startCore(t, "")
	const n = 1<<20 + 1000
	// Pass-through does not parse after login: only the inspecting relay
	// has limits to get right.
	for _, tc := range []struct{ desc, user, pass string }{
		{"inspected", "alice", aliceSecret},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.send("AUTH " + tc.user + " " + tc.pass + "\r\n")
			c.expect("+OK\r\n")
			r := bufio.NewReaderSize(c, 1<<16)
			readLine := func() string {
				t.Helper()
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				return l
			}

			// A request of n+1 arguments: RPUSH big e e e ...
			var b strings.Builder
			fmt.Fprintf(&b, "*%d\r\n$5\r\nRPUSH\r\n$7\r\nbiglist\r\n", n+2)
			for range n {
				b.WriteString("$1\r\ne\r\n")
			}
			_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			c.send("*2\r\n$3\r\nDEL\r\n$7\r\nbiglist\r\n" + b.String())
			readLine() // DEL
			if got := readLine(); got != ":"+strconv.Itoa(n)+"\r\n" {
				t.Fatalf("RPUSH of %d elements: %q", n, got)
			}

			// A reply of n elements.
			c.send("LRANGE biglist 0 -1\r\n")
			if got := readLine(); got != "*"+strconv.Itoa(n)+"\r\n" {
				t.Fatalf("LRANGE header: %q", got)
			}
			body := make([]byte, 7*n)
			if _, err := io.ReadFull(r, body); err != nil || !bytes.Equal(body, bytes.Repeat([]byte("$1\r\ne\r\n"), n)) {
				t.Fatalf("LRANGE elements: %v", err)
			}

			// A 70,000-byte inline command in one write.
			c.send("ECHO " + strings.Repeat("a", 70000) + "\r\n")
			if got := readLine(); got != "$70000\r\n" {
				t.Fatalf("long inline ECHO: %q", got)
			}
			if got := readLine(); len(got) != 70002 {
				t.Fatalf("long inline ECHO: %d bytes", len(got))
			}
			c.send("PING\r\n")
			if got := readLine(); got != "+PONG\r\n" {
				t.Fatalf("PING after: %q", got)
			}
		})
	}
}
