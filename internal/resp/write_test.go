package resp

import (
	"math"
	"testing"
)

func TestWriters(t *testing.T) {
	tests := []struct {
		desc string
		got  []byte
		want string
	}{
		{desc: "simple", got: AppendSimple(nil, "OK"), want: "+OK\r\n"},
		{desc: "simple cannot inject", got: AppendSimple(nil, "a\r\n+b"), want: "+a  +b\r\n"},
		{desc: "error", got: AppendError(nil, "ERR x"), want: "-ERR x\r\n"},
		{desc: "error cannot inject", got: AppendError(nil, "ERR unknown command 'a\r\n+OK'"), want: "-ERR unknown command 'a  +OK'\r\n"},
		{desc: "int", got: AppendInt(nil, -5), want: ":-5\r\n"},
		{desc: "int min", got: AppendInt(nil, math.MinInt64), want: ":-9223372036854775808\r\n"},
		{desc: "bulk", got: AppendBulk(nil, []byte("a\r\nb")), want: "$4\r\na\r\nb\r\n"},
		{desc: "empty bulk", got: AppendBulk(nil, nil), want: "$0\r\n\r\n"},
		{desc: "bulk string", got: AppendBulkString(nil, "hi"), want: "$2\r\nhi\r\n"},
		{desc: "null bulk", got: AppendNullBulk(nil), want: "$-1\r\n"},
		{desc: "array header", got: AppendArrayHeader(nil, 3), want: "*3\r\n"},
		{desc: "command", got: AppendCommand(nil, "SET", "k", ""), want: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"},
		{desc: "command bytes", got: AppendCommandBytes(nil, args("GET", "k")), want: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"},
		{desc: "appends", got: AppendInt([]byte("+OK\r\n"), 1), want: "+OK\r\n:1\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestWritersZeroAlloc(t *testing.T) {
	b := make([]byte, 0, 1024)
	x := []byte("value")
	v := Value{Type: '*', Elems: []Value{{Type: '$', Str: x}, {Type: ':', Int: 7}}}
	allocs := testing.AllocsPerRun(100, func() {
		out := AppendSimple(b[:0], "OK")
		out = AppendError(out, "ERR x")
		out = AppendInt(out, 123456)
		out = AppendBulk(out, x)
		out = AppendBulkString(out, "s")
		out = AppendNullBulk(out)
		out = AppendArrayHeader(out, 2)
		out = AppendCommand(out, "GET", "k")
		_ = AppendValue(out, v)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}
