package e2e

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"
)

// A session's last reply must reach the client even when the client has
// sent more than the session read before it ended: closing a socket with
// unread input makes the kernel send a reset, and the client's kernel then
// drops the reply it had received but not yet handed over. The gateway
// ends with a lingering close instead. Both relays, both ways a session
// ends on a protocol error: the upstream's own (pass-through: redis-server
// answers "*abc" with an error and closes) and the gateway's (inspected).
func TestLingeringCloseDeliversTheLastReply(t *testing.T) {
	s := startCore(t, "")
	big := strings.Repeat("v", 1<<20)
	s.own.Do(t, "SET", "big", big)
	c := dialRaw(t, s.shared.Addr)
	c.send(isoCmd("SELECT", "3") + isoCmd("SET", "big", big))
	c.expect("+OK\r\n+OK\r\n")
	for _, tc := range []struct {
		desc, user, pass, want string
		junk                   int
	}{
		// redis-server itself resets the connection when it closes with
		// unread input, so here the rest fits its first read.
		{desc: "pass-through, the upstream's error", user: "bob", pass: bobSecret, want: "-ERR Protocol error", junk: 8 << 10},
		// More than the socket buffers take at once.
		{desc: "inspected, the gateway's error", user: "alice", pass: aliceSecret, want: "-ERR Protocol error", junk: 4 << 20},
	} {
		junk := bytes.Repeat([]byte("x"), tc.junk)
		t.Run(tc.desc, func(t *testing.T) {
			for i := range 3 {
				c := dialRaw(t, s.addr)
				c.send("AUTH " + tc.user + " " + tc.pass + "\r\n")
				c.expect("+OK\r\n")
				// Replies the client does not read yet (they wait in the
				// gateway's send queue), the bad request, and more behind
				// it; the replies are read once the session has ended.
				// (Write errors are what a reset looks like from here.)
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.Write(append([]byte(strings.Repeat("GET big\r\n", 8)+"*abc\r\n"), junk...))
				time.Sleep(100 * time.Millisecond)
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				for j := range 8 {
					if got, err := r.ReadString('\n'); got != "$1048576\r\n" {
						t.Fatalf("round %d: GET %d: %q (%v)", i, j, got, err)
					}
					if _, err := r.Discard(1<<20 + 2); err != nil {
						t.Fatalf("round %d: GET %d: %v", i, j, err)
					}
				}
				line, err := r.ReadString('\n')
				if !strings.HasPrefix(line, tc.want) {
					t.Fatalf("round %d: got %q (%v), want %s...", i, line, err, tc.want)
				}
				c.Close()
			}
		})
	}
}
