package proxy

import (
	"net"
	"testing"

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

func TestAdmissionMakesRoomWithTheOldest(t *testing.T) {
	a := newAdmission()
	lim := connLimits{unauth: 4, perAddr: 2}
	conn := func(ip string) net.Conn { return fakeAddrConn{addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 1}} }
	c1, c2, c3 := conn("10.0.0.1"), conn("10.0.0.1"), conn("10.0.0.1")
	a.admit(c1, lim)
	w2, _ := a.admit(c2, lim)
	if _, ev := a.admit(c3, lim); len(ev) != 1 || ev[0] != c1 {
		t.Fatalf("per-source bound evicted %v, want the oldest of the source", ev)
	}
	d1, d2 := conn("10.0.0.2"), conn("10.0.0.3")
	a.admit(d1, lim)
	a.admit(d2, lim)
	if _, ev := a.admit(conn("10.0.0.4"), lim); len(ev) != 1 || ev[0] != c2 {
		t.Fatalf("total bound evicted %v, want the oldest of the largest source", ev)
	}
	a.done(w2) // already evicted: a no-op
	if n := a.count(); n != 4 {
		t.Fatalf("count = %d, want 4", n)
	}
}

// fakeAddrConn is a net.Conn with only an address: admission never reads.
type fakeAddrConn struct {
	net.Conn
	addr net.Addr
}

func (f fakeAddrConn) RemoteAddr() net.Addr { return f.addr }
