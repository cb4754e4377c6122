package proxy

import (
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// runPipelineLimited is runPipeline through decide, which runs the
// fair-sharing hook in front of each decision, as decideBuffered does.
func runPipelineLimited(tb testing.TB, in *inspector, wire []byte) {
	data := wire
	for len(data) > 0 {
		n, err := resp.ParseCommand(data, &in.cmd, &in.lim)
		if err != nil {
			tb.Fatalf("parse: %v", err)
		}
		if in.decide(data[:n], in.cmd.Args) {
			tb.Fatal("paused")
		}
		data = data[n:]
	}
	for in.q.len() > 0 {
		in.q.pop()
	}
	in.upOut = in.upOut[:0]
}

// benchLimits are the cases the hot path meets: no limits; size limits and
// a quota (no clock, one atomic load each); rate limits high enough never
// to hold the benchmark back (a clock read and a CAS per bucket).
var benchLimits = []struct {
	desc string
	l    limit.Limits
}{
	{"none", limit.Limits{}},
	{"sizes+quota", limit.Limits{RequestBytes: 1 << 20, ValueBytes: 1 << 20, Offset: 1 << 20, Keys: 1 << 30}},
	{"all", limit.Limits{OpsPerSecond: 1 << 40, BytesPerSecond: 1 << 50, RequestBytes: 1 << 20, ValueBytes: 1 << 20, Offset: 1 << 20, Keys: 1 << 30}},
}

func benchInspectorLimited(tb testing.TB, l limit.Limits) *inspector {
	in := newBenchInspector(tb, "readwrite", 3)
	in.gate = in.srv.Limits().Gate("bench", l)
	return in
}

// BenchmarkInspectLimits: the cost of the limits on GET and SET, against
// "none" (which is BenchmarkInspectGET/SET plus the hook's nil check).
func BenchmarkInspectLimits(b *testing.B) {
	for _, cmd := range []struct{ name, wire string }{
		{"GET", "*2\r\n$3\r\nGET\r\n$8\r\nkey:1234\r\n"},
		{"SET", "*3\r\n$3\r\nSET\r\n$8\r\nkey:1234\r\n$32\r\n0123456789abcdef0123456789abcdef\r\n"},
	} {
		for _, bl := range benchLimits {
			b.Run(cmd.name+"/"+bl.desc, func(b *testing.B) {
				in := benchInspectorLimited(b, bl.l)
				w := []byte(cmd.wire)
				runPipelineLimited(b, in, w)
				b.ReportAllocs()
				b.SetBytes(int64(len(w)))
				b.ResetTimer()
				for b.Loop() {
					runPipelineLimited(b, in, w)
				}
			})
		}
	}
}

func TestLimitsHotPathDoesNotAllocate(t *testing.T) {
	wire := []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*4\r\n$8\r\nSETRANGE\r\n$1\r\nk\r\n$2\r\n10\r\n$1\r\nx\r\n")
	for _, bl := range benchLimits {
		t.Run(bl.desc, func(t *testing.T) {
			in := benchInspectorLimited(t, bl.l)
			runPipelineLimited(t, in, wire)
			if n := testing.AllocsPerRun(200, func() { runPipelineLimited(t, in, wire) }); n != 0 {
				t.Fatalf("%v allocs per run, want 0", n)
			}
		})
	}
}
