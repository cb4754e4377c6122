package command

import (
	"slices"
	"testing"
)

func TestAppendKeys(t *testing.T) {
	tests := []struct {
		desc     string
		args     string
		want     []int
		complete bool
	}{
		{desc: "one key", args: "GET k", want: []int{1}, complete: true},
		{desc: "no keys", args: "PING", want: nil, complete: true},
		{desc: "key pairs", args: "MSET a 1 b 2", want: []int{1, 3}, complete: true},
		{desc: "all remaining", args: "DEL a b c", want: []int{1, 2, 3}, complete: true},
		{desc: "two specs", args: "COPY src dst DB 3", want: []int{1, 2}, complete: true},
		{desc: "numkeys", args: "EVAL s 2 a b x", want: []int{3, 4}, complete: true},
		{desc: "numkeys zero", args: "EVAL s 0 x", want: nil, complete: true},
		{desc: "numkeys past the end", args: "EVAL s 3 a", want: nil, complete: false},
		{desc: "numkeys not a number", args: "EVAL s x a", want: nil, complete: false},
		{desc: "numkeys leading zero", args: "EVAL s 01 a", want: nil, complete: false},
		{desc: "numkeys plus destination", args: "ZUNIONSTORE d 2 a b", want: []int{1, 3, 4}, complete: true},
		{desc: "keyword after fixed keys", args: "GEORADIUS g 0 0 1 km STORE d", want: []int{1, 7}, complete: true},
		{desc: "keyword absent", args: "GEORADIUS g 0 0 1 km", want: []int{1}, complete: true},
		{desc: "keyword case", args: "GEORADIUS g 0 0 1 km storedist d", want: []int{1, 7}, complete: true},
		{desc: "half of the rest", args: "XREAD COUNT 1 STREAMS a b 0 0", want: []int{4, 5}, complete: true},
		{desc: "xreadgroup", args: "XREADGROUP GROUP g c STREAMS s >", want: []int{5}, complete: true},
		{desc: "unknown spec", args: "SORT k BY w_* GET o_*", want: []int{1}, complete: false},
		{desc: "incomplete spec", args: "MIGRATE h 6379 \"\" 0 5 KEYS a b", want: []int{3, 7, 8}, complete: false},
		{desc: "shard channel is not a key", args: "SPUBLISH ch m", want: nil, complete: true},
		{desc: "lmpop numkeys at 1", args: "LMPOP 2 a b LEFT", want: []int{2, 3}, complete: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			argv := args(tc.args)
			c := LookupArgs(argv)
			got, complete := c.AppendKeys(nil, argv)
			if !slices.Equal(got, tc.want) || complete != tc.complete {
				t.Errorf("%s: keys %v complete %v; want %v %v", tc.args, got, complete, tc.want, tc.complete)
			}
		})
	}
}

func TestAppendKeysDoesNotAllocate(t *testing.T) {
	argv := args("MSET a 1 b 2 c 3")
	c := LookupArgs(argv)
	buf := make([]int, 0, 8)
	if n := testing.AllocsPerRun(100, func() { c.AppendKeys(buf[:0], argv) }); n != 0 {
		t.Errorf("%v allocs, want 0", n)
	}
}
