package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// The gateway runs in this test process, so /proc/self shows its
// descriptors and proxy.SpliceBytes its splice counter.

// A large pass-through transfer between plain TCP sockets goes through the
// kernel by splice.
func TestPassThroughLargeTransferUsesSplice(t *testing.T) {
	s := startCore(t, "")
	ctx := context.Background()
	c := client(t, s.addr, "", bobSecret, nil)
	big := bytes.Repeat([]byte("x"), 32<<20)
	if err := c.Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	before := proxy.SpliceBytes.Load()
	got, err := c.Get(ctx, "big").Bytes()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("GET 32 MiB: %d bytes, %v", len(got), err)
	}
	spliced := proxy.SpliceBytes.Load() - before
	t.Logf("32 MiB GET: %d bytes (%.0f%%) moved by splice", spliced, 100*float64(spliced)/float64(len(big)))
	if spliced < int64(len(big))/2 {
		t.Fatalf("only %d of %d bytes went by splice", spliced, len(big))
	}
}

// fdKinds counts this process's descriptors by kind.
func fdKinds(t *testing.T) (total, pipes, sockets int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		total++
		switch {
		case strings.HasPrefix(target, "pipe:"):
			pipes++
		case strings.HasPrefix(target, "socket:"):
			sockets++
		}
	}
	return
}

// Idle sessions, pass-through and inspected, hold their two sockets and
// nothing else: no pipes, and (on plain TCP) no goroutines either: they
// sit on the event loops.
func TestIdleSessionsHoldTwoSocketsOnTheEventLoops(t *testing.T) {
	s := startCore(t, "")
	// Move some bytes by splice first so the pipe pool is warm: pooled
	// pipes are shared and bounded, never per session.
	c := client(t, s.addr, "", bobSecret, nil)
	ctx := context.Background()
	if err := c.Set(ctx, "warm", bytes.Repeat([]byte("w"), 4<<20), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "warm").Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ mode, secret string }{{"pass-through", bobSecret}, {"inspected", aliceSecret}} {
		t.Run(tc.mode, func(t *testing.T) {
			total0, pipes0, sockets0 := fdKinds(t)
			loop0 := proxy.LoopSessions.Load()
			const n = 500
			conns := make([]net.Conn, 0, n)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			auth := fmt.Sprintf("AUTH %s\r\nPING\r\n", tc.secret)
			buf := make([]byte, 64)
			for i := 0; i < n; i++ {
				c, err := net.Dial("tcp", s.addr)
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				conns = append(conns, c)
				c.Write([]byte(auth))
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				got := 0
				for got < len("+OK\r\n+PONG\r\n") {
					m, err := c.Read(buf[got:])
					if err != nil {
						t.Fatalf("session %d: %v", i, err)
					}
					got += m
				}
			}
			time.Sleep(200 * time.Millisecond)
			total1, pipes1, sockets1 := fdKinds(t)
			perSession := float64(total1-total0) / n
			onLoops := proxy.LoopSessions.Load() - loop0
			t.Logf("%d idle %s sessions: +%d descriptors (%.2f per session: the test's client socket, the "+
				"client side and the upstream side), +%d sockets, pipes %d -> %d, %d more on the event loops",
				n, tc.mode, total1-total0, perSession, sockets1-sockets0, pipes0, pipes1, onLoops)
			if pipes1 > pipes0 {
				t.Fatalf("idle sessions hold pipes: %d -> %d", pipes0, pipes1)
			}
			// Each session: the test's own client socket + the gateway's client and
			// upstream sockets = 3 in this process; io.Copy-style splicing would add 4 pipe ends.
			if perSession > 3.05 {
				t.Fatalf("%.2f descriptors per idle session, want 3 (2 for the gateway)", perSession)
			}
			if onLoops != n {
				t.Fatalf("%d of %d plain-TCP sessions on the event loops", onLoops, n)
			}
			for _, c := range conns {
				c.Close()
			}
			conns = nil
			waitFor(t, 10*time.Second, "sessions to leave the event loops", func() bool {
				return proxy.LoopSessions.Load() == loop0
			})
		})
	}
}

// SIGTERM / SIGINT: stop accepting, let sessions finish for the grace
// period, then close them.
func TestGracefulShutdown(t *testing.T) {
	s := startCore(t, "limits: {shutdown_grace: 1s}\n")
	ctx := context.Background()
	c := client(t, s.addr, "", bobSecret, func(o *redis.Options) { o.MaxRetries = -1; o.PoolSize = 1 })
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { s.gw.Stop(); close(stopped) }()
	waitFor(t, 5*time.Second, "listener to close", func() bool {
		conn, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return false
		}
		return true
	})
	// The live session still works during the grace period.
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("session during grace: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the grace period")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("session still open after the grace period")
	}
	if !strings.Contains(s.gw.Log.String(), "grace period over") {
		t.Fatalf("no log line about closing sessions:\n%s", s.gw.Log.String())
	}
}

// A command that arrives in pieces, with pauses long enough for the relay
// to drain the socket and set the half-sent command aside, is parsed and
// answered whole, on an inspected session, while other sessions sit on
// half-sent commands of their own.
func TestInspectedCommandInPieces(t *testing.T) {
	s := startCore(t, "")
	var waiting []*rawConn
	for i := 0; i < 20; i++ {
		r := dialRaw(t, s.addr)
		r.send("AUTH " + aliceSecret + "\r\n")
		r.expect("+OK\r\n")
		r.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval") // and nothing more, for now
		waiting = append(waiting, r)
	}
	r := dialRaw(t, s.addr)
	r.send("AUTH " + aliceSecret + "\r\n")
	r.expect("+OK\r\n")
	for _, piece := range []string{"*3\r\n$3\r\nSE", "T\r\n$6\r\npie", "ces\r\n$3\r\nab", "c\r\n"} {
		r.send(piece)
		time.Sleep(30 * time.Millisecond)
	}
	r.expect("+OK\r\n")
	r.send("*2\r\n$3\r\nGET\r\n$6\r\npieces\r\n")
	r.expect("$3\r\nabc\r\n")
	for _, w := range waiting {
		w.send("ue\r\n")
		w.expect("+OK\r\n")
	}
	// The server holds exactly what was sent, in alice's DB.
	direct := redis.NewClient(&redis.Options{Addr: s.shared.Addr, DB: 3})
	defer direct.Close()
	ctx := context.Background()
	if got, err := direct.Get(ctx, "k").Result(); err != nil || got != "value" {
		t.Fatalf("k in DB 3 = %q, %v", got, err)
	}
	if got, err := direct.Get(ctx, "pieces").Result(); err != nil || got != "abc" {
		t.Fatalf("pieces in DB 3 = %q, %v", got, err)
	}
}

// A client that pipelines large reads and QUIT, then reads slowly, still
// gets every reply and QUIT's +OK before the connection closes, although
// the replies outgrow the socket buffers and wait in the relay.
func TestInspectedQuitAfterSlowReadsGetsEveryReply(t *testing.T) {
	s := startCore(t, "")
	ctx := context.Background()
	big := bytes.Repeat([]byte("v"), 256<<10)
	if err := client(t, s.addr, "", aliceSecret, nil).Set(ctx, "big", big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A small receive buffer keeps the relay's writes to us short, so it
	// holds bytes for us right up to the end.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const gets = 16
	req := "AUTH " + aliceSecret + "\r\n" + strings.Repeat("GET big\r\n", gets) + "QUIT\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	// Read slowly, too.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got []byte
	buf := make([]byte, 16<<10)
	for {
		time.Sleep(time.Millisecond)
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read: %v after %d bytes", err, len(got))
		}
	}
	one := fmt.Sprintf("$%d\r\n%s\r\n", len(big), big)
	want := "+OK\r\n" + strings.Repeat(one, gets) + "+OK\r\n"
	if string(got) != want {
		t.Fatalf("got %d bytes, want %d (every GET reply, then QUIT's +OK)", len(got), len(want))
	}
}
