package proxy

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// The event-loop relay is tested here on real loopback TCP connections,
// one pair on each side: app client <-> gateway client socket, and
// gateway upstream socket <-> app upstream. The e2e suite covers the
// same relay behind a real redis-server.

type loopRig struct {
	srv       *Server
	sess      *Session
	appClient *net.TCPConn // the application's end of the client connection
	appUp     *net.TCPConn // the upstream server's end of the upstream connection
	ended     chan struct{}
}

// tcpPair returns both ends of one loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := l.Accept(); ch <- res{c, err} }()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return a.(*net.TCPConn), r.c.(*net.TCPConn)
}

func startLoopRig(t *testing.T, spliceMin int) *loopRig {
	t.Helper()
	srv := New(Options{Logger: slog.New(slog.DiscardHandler)})
	appClient, gwClient := tcpPair(t)
	gwUp, appUp := tcpPair(t)
	t.Cleanup(func() { appClient.Close(); appUp.Close() })
	sess := srv.reg.add(gwClient, "test")
	cn := &conn{srv: srv, sess: sess, c: gwClient, start: time.Now()}
	srv.wg.Add(1)
	r := &loopRig{srv: srv, sess: sess, appClient: appClient, appUp: appUp, ended: make(chan struct{})}
	go func() { srv.wg.Wait(); close(r.ended) }()
	if !cn.startLoopRelay(gwUp, spliceMin, func() bool { return false }) {
		t.Fatal("plain TCP session did not go to an event loop")
	}
	return r
}

func (r *loopRig) waitEnded(t *testing.T) {
	t.Helper()
	select {
	case <-r.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
	if n := r.srv.reg.Len(); n != 0 {
		t.Fatalf("%d sessions still registered", n)
	}
}

// sendRandom writes n random bytes in uneven chunks, then half-closes, and
// returns their digest.
func sendRandom(t *testing.T, c *net.TCPConn, n int) [32]byte {
	data := make([]byte, n)
	rand.Read(data)
	sum := sha256.Sum256(data)
	go func() {
		for off, step := 0, 1; off < n; step = step*7%65521 + 1 {
			end := min(off+step, n)
			if _, err := c.Write(data[off:end]); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			off = end
		}
		c.CloseWrite()
	}()
	return sum
}

// readAllSlowly reads to EOF in small reads with pauses, so the relay
// meets a slow reader (short writes, bytes kept, back-pressure).
func readAllSlowly(c net.Conn, slow bool) ([32]byte, int, error) {
	h := sha256.New()
	buf := make([]byte, 4096)
	total := 0
	for i := 0; ; i++ {
		n, err := c.Read(buf)
		h.Write(buf[:n])
		total += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return [32]byte{}, total, err
		}
		if slow && i%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, total, nil
}

func TestLoopRelayMovesBytesBothWaysUnderBackPressure(t *testing.T) {
	const size = 24 << 20
	for _, tc := range []struct {
		name      string
		spliceMin int
	}{{"read-write only", 0}, {"with splice", 256 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLoopRig(t, tc.spliceMin)
			before := SpliceBytes.Load()
			upSum := sendRandom(t, r.appClient, size)
			got, n, err := readAllSlowly(r.appUp, true)
			if err != nil || n != size || got != upSum {
				t.Fatalf("upstream got %d bytes (err %v), digest match %v", n, err, got == upSum)
			}
			// The client's half-close reached the upstream (the EOF above);
			// the upstream answers and closes, which ends the session.
			downSum := sendRandom(t, r.appUp, size)
			got, n, err = readAllSlowly(r.appClient, true)
			if err != nil || n != size || got != downSum {
				t.Fatalf("client got %d bytes (err %v), digest match %v", n, err, got == downSum)
			}
			r.appUp.Close()
			r.waitEnded(t)
			if in, out := r.sess.BytesIn.Load(), r.sess.BytesOut.Load(); in != size || out != size {
				t.Fatalf("byte counters in=%d out=%d, want %d each", in, out, size)
			}
			spliced := SpliceBytes.Load() - before
			if tc.spliceMin == 0 && spliced != 0 {
				t.Fatalf("spliced %d bytes with splice off", spliced)
			}
			t.Logf("spliced %d of %d bytes", spliced, 2*size)
		})
	}
}

func TestLoopRelayRequestResponse(t *testing.T) {
	r := startLoopRig(t, 256<<10)
	go func() {
		// A tiny upstream: answer each line with its upper-case copy.
		buf := make([]byte, 1024)
		for {
			n, err := r.appUp.Read(buf)
			if err != nil {
				r.appUp.Close()
				return
			}
			r.appUp.Write(bytes.ToUpper(buf[:n]))
		}
	}()
	buf := make([]byte, 64)
	for i := range 2000 {
		msg := []byte("ping " + string(rune('a'+i%26)) + "\n")
		if _, err := r.appClient.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r.appClient, buf[:len(msg)]); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if want := bytes.ToUpper(msg); !bytes.Equal(buf[:len(msg)], want) {
			t.Fatalf("round %d: got %q, want %q", i, buf[:len(msg)], want)
		}
	}
	r.appClient.Close()
	r.waitEnded(t)
}

func TestLoopRelayKill(t *testing.T) {
	r := startLoopRig(t, 0)
	// Keep some bytes owed to the client, so the kill also has to drop
	// kept bytes.
	go r.appUp.Write(make([]byte, 8<<20))
	time.Sleep(50 * time.Millisecond)
	r.sess.Close("admin")
	r.waitEnded(t)
	r.appUp.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, r.appUp); err != nil {
		t.Fatalf("upstream side did not see the session end: %v", err)
	}
	if got := r.sess.CloseReason(); got != "admin" {
		t.Fatalf("close reason %q", got)
	}
	r.sess.Close("again") // a second close finds the pair gone and does nothing
}

func TestLoopRelayClientReset(t *testing.T) {
	r := startLoopRig(t, 0)
	r.appClient.SetLinger(0)
	r.appClient.Close() // RST
	r.waitEnded(t)
	r.appUp.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, r.appUp); err != nil {
		t.Fatalf("upstream side did not see the session end: %v", err)
	}
}

func TestFDTable(t *testing.T) {
	var tb fdTable
	ep := &endpoint{fd: 5000}
	if tb.get(5000) != nil || !tb.set(5000, ep) || tb.get(5000) != ep {
		t.Fatal("set/get")
	}
	if !tb.set(5000, nil) || tb.get(5000) != nil {
		t.Fatal("clear")
	}
	if tb.set(-1, ep) || tb.set(fdChunks*fdChunkSize, ep) || tb.get(-1) != nil {
		t.Fatal("out of range accepted")
	}
}

// Many sessions at once, each ended a different way while bytes flow:
// kills, client closes and resets, upstream closes. Descriptor numbers are
// reused as fast as the kernel hands them out, so a stale event or a late
// kill aimed at a recycled number would show up as bytes crossing into
// another session (every byte carries its session's tag) or a session
// that never ends.
func TestLoopRelayChurnKeepsSessionsApart(t *testing.T) {
	const sessions = 120
	const rounds = 3
	for round := range rounds {
		var rigs []*loopRig
		for range sessions {
			rigs = append(rigs, startLoopRig(t, 0))
		}
		errs := make(chan error, 2*sessions)
		for i, r := range rigs {
			tag := byte('A' + i%50)
			// Upstream: echo every byte back (the client checks each one),
			// and close when the client's side ends, as redis-server does.
			go func() {
				buf := make([]byte, 2048)
				for {
					n, err := r.appUp.Read(buf)
					if n > 0 {
						r.appUp.Write(buf[:n])
					}
					if err != nil {
						r.appUp.Close()
						return
					}
				}
			}()
			go func() {
				out := bytes.Repeat([]byte{tag}, 1500)
				in := make([]byte, 4096)
				for k := 0; ; k++ {
					if _, err := r.appClient.Write(out); err != nil {
						errs <- nil // ended by the chaos below
						return
					}
					r.appClient.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := r.appClient.Read(in)
					for _, b := range in[:n] {
						if b != tag {
							errs <- fmt.Errorf("session tagged %c received %q", tag, b)
							return
						}
					}
					if err != nil {
						errs <- nil
						return
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		for i, r := range rigs {
			switch (i + round) % 4 {
			case 0:
				go r.sess.Close("test")
			case 1:
				go r.appClient.Close()
			case 2:
				go func() { r.appClient.SetLinger(0); r.appClient.Close() }()
			case 3:
				go r.appUp.Close()
			}
		}
		for range rigs {
			select {
			case err := <-errs:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("a client hung")
			}
		}
		for _, r := range rigs {
			r.waitEnded(t)
		}
	}
}
