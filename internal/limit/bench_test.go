package limit

import (
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// BenchmarkGateCheck is the cost of the limits per command, without the
// relay around them: nothing set; size limits and a quota (atomic loads,
// no clock); everything (a clock read and three bucket operations).
func BenchmarkGateCheck(b *testing.B) {
	argv := args("SET", "key:1234", "0123456789abcdef0123456789abcdef")
	c := command.LookupArgs(argv)
	for _, bc := range []struct {
		desc string
		l    Limits
	}{
		{"none", Limits{}},
		{"sizes+quota", Limits{RequestBytes: 1 << 20, ValueBytes: 1 << 20, Offset: 1 << 20, Keys: 1 << 30}},
		{"all", Limits{OpsPerSecond: 1 << 40, BytesPerSecond: 1 << 50, RequestBytes: 1 << 20, ValueBytes: 1 << 20, Offset: 1 << 20, Keys: 1 << 30}},
	} {
		b.Run(bc.desc, func(b *testing.B) {
			g := NewSet(Options{}).Gate("t", bc.l)
			b.ReportAllocs()
			for b.Loop() {
				if v := g.Check(c, argv, 60); v.Wait != 0 || v.Refuse != nil {
					b.Fatal(v)
				}
				g.Sent(5)
			}
		})
	}
}
