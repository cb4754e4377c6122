package proxy

import (
	"net"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

func TestDeriveConnLimits(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		lim    config.Limits
		nofile uint64
		want   connLimits
	}{
		{desc: "20000 descriptors", nofile: 20000, want: connLimits{total: 9936, unauth: 1242, perAddr: 128, perTenant: 2000}},
		{desc: "1024 descriptors", nofile: 1024, want: connLimits{total: 448, unauth: 56, perAddr: 32, perTenant: 98}},
		{desc: "unknown", nofile: 0, want: connLimits{total: 16, unauth: 2, perAddr: 2, perTenant: 3}},
		{desc: "configured", nofile: 20000, lim: config.Limits{MaxConnections: 100, MaxUnauthenticated: 20, MaxUnauthenticatedPerAddr: 5, MaxConnsPerTenant: 10},
			want: connLimits{total: 100, unauth: 20, perAddr: 5, perTenant: 10}},
		{desc: "only the total configured", nofile: 20000, lim: config.Limits{MaxConnections: 80},
			want: connLimits{total: 80, unauth: 10, perAddr: 10, perTenant: 17}},
		{desc: "switched off", nofile: 20000, lim: config.Limits{MaxConnections: -1, MaxUnauthenticated: -1, MaxUnauthenticatedPerAddr: -1, MaxConnsPerTenant: -1}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := deriveConnLimits(&tc.lim, tc.nofile)
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			// Logged-in sessions (2 descriptors) plus logins (1) fit.
			if tc.nofile > fdReserve && got.total > 0 && uint64(2*got.sessions()+got.unauth+fdReserve) > tc.nofile {
				t.Fatalf("%+v needs more than %d descriptors", got, tc.nofile)
			}
		})
	}
}

func TestAdmissionMakesRoomWithIdleConnections(t *testing.T) {
	conn, _ := socketsFrom(t)
	a := newAdmission()
	lim := connLimits{unauth: 4, perAddr: 2}
	c1, c2, c3 := conn("127.0.0.1"), conn("127.0.0.1"), conn("127.0.0.1")
	w1, _ := a.admit(c1, lim)
	w2, _ := a.admit(c2, lim)
	w1.active.Store(true) // c1 is logging in: c2 is the idle one, once past its grace
	if w, ev := a.admit(c3, lim); w != nil || len(ev) != 0 {
		t.Fatalf("a connection in its first %v was evicted (%v) or the newcomer admitted", idleGrace, ev)
	}
	age(w1, w2)
	w3, ev := a.admit(c3, lim)
	if len(ev) != 1 || ev[0] != c2 {
		t.Fatalf("per-source bound evicted %v, want the oldest idle connection of the source", ev)
	}
	a.done(w2) // already evicted: a no-op
	a.admit(conn("127.0.0.2"), lim)
	a.admit(conn("127.0.0.3"), lim)
	if n := a.count(); n != 4 {
		t.Fatalf("count = %d, want 4", n)
	}
	age(w3)
	if _, ev := a.admit(conn("127.0.0.4"), lim); len(ev) != 1 || ev[0] != c3 {
		t.Fatalf("total bound evicted %v, want the idle one of the largest source", ev)
	}
}

// age makes connections look older than the idle grace.
func age(ws ...*waiting) {
	for _, w := range ws {
		w.at = w.at.Add(-time.Second)
	}
}

func TestAdmissionRefusesWhenASourceIsBusyLoggingIn(t *testing.T) {
	conn, peers := socketsFrom(t)
	a := newAdmission()
	lim := connLimits{unauth: 4, perAddr: 2}
	w1, _ := a.admit(conn("127.0.0.1"), lim)
	c2 := conn("127.0.0.1")
	w2, _ := a.admit(c2, lim)
	w1.active.Store(true)
	age(w1, w2)
	// c2's login has not read yet, but its AUTH waits in the kernel's queue.
	peers[c2].Write([]byte("AUTH x\r\n"))
	waitInput(t, c2)
	if w, ev := a.admit(conn("127.0.0.1"), lim); w != nil || len(ev) != 0 {
		t.Fatalf("admitted a third connection (evicting %v) while both are logging in and half the table is used", ev)
	}
	// With a larger table, a pool connecting at once may go over its
	// per-source share while half the table is free.
	if w, _ := a.admit(conn("127.0.0.1"), connLimits{unauth: 10, perAddr: 2}); w == nil {
		t.Fatal("refused a busy source's third login with most of the table free")
	}
	a.done(w1)
	a.done(w2)
	if w, _ := a.admit(conn("127.0.0.1"), lim); w == nil {
		t.Fatal("refused after the logins finished")
	}
}

// socketsFrom returns a function that makes a real accepted TCP socket
// whose client end is bound to a given loopback source address; peers
// maps each accepted socket to its client end.
func socketsFrom(t *testing.T) (func(src string) net.Conn, map[net.Conn]net.Conn) {
	peers := map[net.Conn]net.Conn{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		cl, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close(); c.Close() })
		peers[c] = cl
		return c
	}, peers
}

func waitInput(t *testing.T, c net.Conn) {
	for i := 0; i < 200 && !hasPendingInput(c); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if !hasPendingInput(c) {
		t.Fatal("the written bytes never showed in the receive queue")
	}
}
