package resp

import (
	"bytes"
	"testing"
)

// equalValue compares values treating nil and empty slices alike.
func equalValue(a, b Value) bool {
	if a.Type != b.Type || a.Int != b.Int || a.Null != b.Null || !bytes.Equal(a.Str, b.Str) ||
		len(a.Elems) != len(b.Elems) || len(a.Attrs) != len(b.Attrs) {
		return false
	}
	for i := range a.Elems {
		if !equalValue(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	for i := range a.Attrs {
		if !equalValue(a.Attrs[i], b.Attrs[i]) {
			return false
		}
	}
	return true
}

func bulk(s string) Value { return Value{Type: TypeBulk, Str: []byte(s)} }

func TestParseValue(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want Value
		out  string // AppendValue of want; "" means same as in
	}{
		{desc: "simple", in: "+OK\r\n", want: Value{Type: '+', Str: []byte("OK")}},
		{desc: "error", in: "-ERR x\r\n", want: Value{Type: '-', Str: []byte("ERR x")}},
		{desc: "integer", in: ":-7\r\n", want: Value{Type: ':', Int: -7}},
		{desc: "bulk", in: "$3\r\na\r\n\r\n", want: bulk("a\r\n")},
		{desc: "null bulk", in: "$-1\r\n", want: Value{Type: '$', Null: true}},
		{desc: "null array", in: "*-1\r\n", want: Value{Type: '*', Null: true}},
		{desc: "null", in: "_\r\n", want: Value{Type: '_', Null: true}},
		{desc: "bools", in: "*2\r\n#t\r\n#f\r\n", want: Value{Type: '*', Elems: []Value{{Type: '#', Int: 1}, {Type: '#'}}}},
		{desc: "double", in: ",1.5\r\n", want: Value{Type: ',', Str: []byte("1.5")}},
		{desc: "big number", in: "(-123\r\n", want: Value{Type: '(', Str: []byte("-123")}},
		{desc: "blob error", in: "!3\r\nERR\r\n", want: Value{Type: '!', Str: []byte("ERR")}},
		{desc: "verbatim", in: "=5\r\ntxt:x\r\n", want: Value{Type: '=', Str: []byte("txt:x")}},
		{desc: "map", in: "%1\r\n+k\r\n:1\r\n", want: Value{Type: '%', Elems: []Value{{Type: '+', Str: []byte("k")}, {Type: ':', Int: 1}}}},
		{desc: "set", in: "~1\r\n$1\r\nx\r\n", want: Value{Type: '~', Elems: []Value{bulk("x")}}},
		{desc: "push", in: ">1\r\n$1\r\nx\r\n", want: Value{Type: '>', Elems: []Value{bulk("x")}}},
		{desc: "attribute", in: "|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
			want: Value{Type: '$', Str: []byte("v"), Attrs: []Value{{Type: '+', Str: []byte("ttl")}, {Type: ':', Int: 3}}}},
		{desc: "two attributes merge", in: "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n_\r\n",
			want: Value{Type: '_', Null: true, Attrs: []Value{{Type: '+', Str: []byte("a")}, {Type: ':', Int: 1}, {Type: '+', Str: []byte("b")}, {Type: ':', Int: 2}}},
			out:  "|2\r\n+a\r\n:1\r\n+b\r\n:2\r\n_\r\n"},
		{desc: "streamed string joins", in: "$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n", want: bulk("abc"), out: "$3\r\nabc\r\n"},
		{desc: "streamed array", in: "*?\r\n:1\r\n.\r\n", want: Value{Type: '*', Elems: []Value{{Type: ':', Int: 1}}}, out: "*1\r\n:1\r\n"},
		{desc: "nested", in: "*2\r\n*1\r\n$0\r\n\r\n*0\r\n", want: Value{Type: '*', Elems: []Value{{Type: '*', Elems: []Value{bulk("")}}, {Type: '*'}}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			v, n, err := ParseValue([]byte(tc.in+"+next\r\n"), nil)
			if err != nil || n != len(tc.in) || !equalValue(v, tc.want) {
				t.Fatalf("ParseValue = %+v, %d, %v; want %+v, %d", v, n, err, tc.want, len(tc.in))
			}
			for i := 0; i < len(tc.in); i++ {
				if _, _, err := ParseValue([]byte(tc.in[:i]), nil); err != ErrIncomplete {
					t.Fatalf("prefix %q: %v, want ErrIncomplete", tc.in[:i], err)
				}
			}
			want := tc.out
			if want == "" {
				want = tc.in
			}
			if got := string(AppendValue(nil, v)); got != want {
				t.Fatalf("AppendValue = %q, want %q", got, want)
			}
		})
	}
}

func TestParseValueAliasesBuffer(t *testing.T) {
	buf := []byte("$3\r\nabc\r\n")
	v, _, err := ParseValue(buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf[4] = 'X'
	if string(v.Str) != "Xbc" {
		t.Fatalf("Str %q does not alias the buffer", v.Str)
	}
	// A three-index slice: appending to Str cannot overwrite the CRLF.
	if cap(v.Str) != 3 {
		t.Fatalf("cap %d", cap(v.Str))
	}
}

func TestParseValueDoesNotTrustCounts(t *testing.T) {
	// A 10-byte header declaring 1M elements must not allocate them.
	in := []byte("*1000000\r\n:1\r\n")
	allocs := testing.AllocsPerRun(10, func() {
		if _, _, err := ParseValue(in, nil); err != ErrIncomplete {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("%v allocs", allocs)
	}
}

func TestAppendValueUnknownType(t *testing.T) {
	if got := string(AppendValue(nil, Value{Type: 'x'})); got != "$-1\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := string(AppendValue(nil, Value{Type: '%', Elems: []Value{{Type: '_'}}})); got != "%0\r\n" {
		t.Fatalf("odd map: %q", got)
	}
}
