package proxy

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/upstream"

	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// newBenchInspector is an inspector with no sockets: handle() only parses,
// checks and appends to the upstream batch, which is the hot path.
func newBenchInspector(tb testing.TB, role string, db int) *inspector {
	tb.Helper()
	pol, err := policy.Compile(role, "")
	if err != nil {
		tb.Fatal(err)
	}
	sess := &Session{}
	sess.identity.Store(&tenant.Identity{Tenant: "a"})
	return &inspector{
		srv: New(Options{Directory: tenant.NewDirectory(nil, nil), Limits: config.Limits{MaxAuthFailures: 3},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}),
		cn:       &conn{c: discardConn{}, sess: sess, log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		route:    &tenant.Route{DB: db, Shared: true, Policy: pol, Target: &upstream.Target{Name: "t", Address: "127.0.0.1:1"}},
		pol:      pol,
		isolated: true,
		db:       db,
		lim:      resp.DefaultLimits(),
	}
}

// discardConn stands in for the client socket: local replies are written
// and dropped. Only Write is used on this path.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// runPipeline parses every command in wire, decides it and answers the
// forwarded ones as if the upstream had replied.
func runPipeline(tb testing.TB, in *inspector, wire []byte) {
	data := wire
	for len(data) > 0 {
		n, err := resp.ParseCommand(data, &in.cmd, &in.lim)
		if err != nil {
			tb.Fatalf("parse: %v", err)
		}
		in.decide(data[:n], in.cmd.Args)
		data = data[n:]
	}
	for in.q.len() > 0 {
		in.q.pop()
	}
	in.upOut = in.upOut[:0]
}

func benchmarkInspect(b *testing.B, wire string) {
	in := newBenchInspector(b, "readwrite", 3)
	w := []byte(wire)
	runPipeline(b, in, w) // warm the queue and batch buffer
	b.ReportAllocs()
	b.SetBytes(int64(len(w)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runPipeline(b, in, w)
	}
}

// parse -> role check -> isolation check -> forward, for GET and SET on a
// pinned tenant: 0 allocs/op.
func BenchmarkInspectGET(b *testing.B) {
	benchmarkInspect(b, "*2\r\n$3\r\nGET\r\n$8\r\nkey:1234\r\n")
}

func BenchmarkInspectSET(b *testing.B) {
	benchmarkInspect(b, "*3\r\n$3\r\nSET\r\n$8\r\nkey:1234\r\n$32\r\n0123456789abcdef0123456789abcdef\r\n")
}

func TestInspectHotPathDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct{ desc, wire string }{
		{"GET", "*2\r\n$3\r\nGET\r\n$8\r\nkey:1234\r\n"},
		{"SET", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"},
		{"pipeline of 16", string(repeat("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 16))},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in := newBenchInspector(t, "readwrite", 3)
			w := []byte(tc.wire)
			runPipeline(t, in, w)
			if n := testing.AllocsPerRun(200, func() { runPipeline(t, in, w) }); n != 0 {
				t.Fatalf("%v allocs per run, want 0", n)
			}
		})
	}
}

func repeat(s string, n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, s...)
	}
	return b
}
