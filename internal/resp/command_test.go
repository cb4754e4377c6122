package resp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func args(a ...string) [][]byte {
	out := make([][]byte, len(a))
	for i, s := range a {
		out[i] = []byte(s)
	}
	return out
}

func sameArgs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestParseCommandValid(t *testing.T) {
	tests := []struct {
		desc   string
		in     string
		want   [][]byte
		inline bool
	}{
		{desc: "multibulk GET", in: "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", want: args("GET", "key")},
		{desc: "empty bulk", in: "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", want: args("ECHO", "")},
		{desc: "binary bulk holding CRLF", in: "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", want: args("ECHO", "a\r\nb")},
		{desc: "bulk with NUL", in: "*1\r\n$3\r\na\x00b\r\n", want: args("a\x00b")},
		{desc: "trailing CRLF of payload not checked, like redis", in: "*1\r\n$4\r\nPINGxy", want: args("PING")},
		{desc: "byte after header CR not checked, like redis", in: "*1\rx$4\r\nPING\r\n", want: args("PING")},
		{desc: "zero count is a no-op", in: "*0\r\n", want: args()},
		{desc: "minus one count is a no-op", in: "*-1\r\n", want: args()},
		{desc: "negative count is a no-op, like redis 7", in: "*-5\r\n", want: args()},
		{desc: "max bulk length exactly", in: "*1\r\n$0\r\n\r\n", want: args("")},
		{desc: "inline CRLF", in: "PING\r\n", want: args("PING"), inline: true},
		{desc: "inline LF only", in: "ECHO a\n", want: args("ECHO", "a"), inline: true},
		{desc: "inline empty line", in: "\r\n", want: args(), inline: true},
		{desc: "inline blanks only", in: " \t \n", want: args(), inline: true},
		{desc: "inline tabs and spaces", in: "ECHO\t a  b \r\n", want: args("ECHO", "a", "b"), inline: true},
		{desc: "inline CR splits", in: "a\rb\n", want: args("a", "b"), inline: true},
		{desc: "inline vertical tab inside word", in: "a\vb \vc\n", want: args("a\vb", "c"), inline: true},
		{desc: "inline double quotes", in: `ECHO "a b"` + "\r\n", want: args("ECHO", "a b"), inline: true},
		{desc: "inline empty quotes", in: `ECHO ""` + "\n", want: args("ECHO", ""), inline: true},
		{desc: "inline escapes", in: `ECHO "\x41\n\t\r\b\a\\\"\q"` + "\n", want: args("ECHO", "A\n\t\r\b\a\\\"q"), inline: true},
		{desc: "inline bad hex escape", in: `ECHO "\xzz"` + "\n", want: args("ECHO", "xzz"), inline: true},
		{desc: "inline single quotes", in: `ECHO 'it\'s "x" \n'` + "\n", want: args("ECHO", `it's "x" \n`), inline: true},
		{desc: "inline quote inside word", in: `ECHO foo"bar baz"` + "\n", want: args("ECHO", "foobar baz"), inline: true},
		{desc: "inline quote then tab", in: "ECHO \"a\"\tb\n", want: args("ECHO", "a", "b"), inline: true},
		{desc: "inline high bytes", in: "ECHO \xff\xfe\n", want: args("ECHO", "\xff\xfe"), inline: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var cmd Command
			n, err := ParseCommand([]byte(tc.in), &cmd, nil)
			if err != nil || n != len(tc.in) {
				t.Fatalf("ParseCommand(%q) = %d, %v; want %d, nil", tc.in, n, err, len(tc.in))
			}
			if !sameArgs(cmd.Args, tc.want) || cmd.Inline != tc.inline {
				t.Fatalf("args %q inline %v; want %q inline %v", cmd.Args, cmd.Inline, tc.want, tc.inline)
			}
			// Every strict prefix is incomplete, whether parsed fresh or
			// resumed byte by byte with one Command.
			var resumed Command
			for i := 0; i < len(tc.in); i++ {
				var fresh Command
				if _, err := ParseCommand([]byte(tc.in[:i]), &fresh, nil); err != ErrIncomplete {
					t.Fatalf("prefix %q: err %v, want ErrIncomplete", tc.in[:i], err)
				}
				if _, err := ParseCommand([]byte(tc.in[:i]), &resumed, nil); err != ErrIncomplete {
					t.Fatalf("resumed prefix %q: err %v, want ErrIncomplete", tc.in[:i], err)
				}
			}
			n, err = ParseCommand([]byte(tc.in), &resumed, nil)
			if err != nil || n != len(tc.in) || !sameArgs(resumed.Args, tc.want) {
				t.Fatalf("resumed: %d, %v, %q", n, err, resumed.Args)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	pre := &Limits{PreAuth: true}
	custom := &Limits{PreAuth: true, PreAuthMaxArgs: 3, PreAuthMaxBulk: 100}
	long := strings.Repeat("1", 64*1024+1)
	tests := []struct {
		desc string
		in   string
		lim  *Limits
		want string
	}{
		{desc: "non-numeric count", in: "*abc\r\n", want: "invalid multibulk length"},
		{desc: "configured pre-auth args", in: "*4\r\n", lim: custom, want: "unauthenticated multibulk length"},
		{desc: "configured pre-auth bulk", in: "*1\r\n$101\r\n", lim: custom, want: "unauthenticated bulk length"},
		{desc: "empty count", in: "*\r\n", want: "invalid multibulk length"},
		{desc: "minus zero", in: "*-0\r\n", want: "invalid multibulk length"},
		{desc: "leading zero", in: "*01\r\n", want: "invalid multibulk length"},
		{desc: "plus sign", in: "*+1\r\n", want: "invalid multibulk length"},
		{desc: "space after count", in: "*1 \r\n", want: "invalid multibulk length"},
		{desc: "count over INT_MAX", in: "*2147483648\r\n", want: "invalid multibulk length"},
		{desc: "count overflowing int64", in: "*99999999999999999999\r\n", want: "invalid multibulk length"},
		{desc: "missing dollar", in: "*1\r\nfoo\r\n", want: "expected '$', got 'f'"},
		{desc: "CR where dollar belongs", in: "*1\r\n\r\n", want: "expected '$', got ' '"},
		{desc: "LF where dollar belongs", in: "*1\r\n\n\r\n", want: "expected '$', got ' '"},
		{desc: "second arg missing dollar", in: "*2\r\n$1\r\na\r\n:1\r\n", want: "expected '$', got ':'"},
		{desc: "negative bulk", in: "*1\r\n$-1\r\n", want: "invalid bulk length"},
		{desc: "non-numeric bulk", in: "*1\r\n$abc\r\n", want: "invalid bulk length"},
		{desc: "empty bulk length", in: "*1\r\n$\r\n", want: "invalid bulk length"},
		{desc: "int64 max bulk", in: "*1\r\n$9223372036854775807\r\n", want: "invalid bulk length"},
		{desc: "huge bulk", in: "*1\r\n$99999999999\r\n", want: "invalid bulk length"},
		{desc: "bulk just over 512MiB", in: "*1\r\n$536870913\r\n", want: "invalid bulk length"},
		{desc: "bulk over custom limit", in: "*1\r\n$11\r\n", lim: &Limits{MaxBulkLen: 10}, want: "invalid bulk length"},
		{desc: "count over custom limit", in: "*3\r\n", lim: &Limits{MaxArrayLen: 2}, want: "invalid multibulk length"},
		{desc: "too big mbulk count", in: "*" + long, want: "too big mbulk count string"},
		{desc: "NUL hides the CR of the count", in: "*1\x00\r\n" + long, want: "too big mbulk count string"},
		{desc: "too big bulk count", in: "*1\r\n$" + long, want: "too big bulk count string"},
		{desc: "too big inline", in: "A" + long, want: "too big inline request"},
		{desc: "NUL hides the inline newline", in: "PING\x00\n" + long, want: "too big inline request"},
		{desc: "unbalanced double quote", in: "ECHO \"abc\r\n", want: "unbalanced quotes in request"},
		{desc: "unbalanced single quote", in: "ECHO 'abc\r\n", want: "unbalanced quotes in request"},
		{desc: "text after closing quote", in: "ECHO \"abc\"def\r\n", want: "unbalanced quotes in request"},
		{desc: "text after closing single quote", in: "ECHO 'a'b\n", want: "unbalanced quotes in request"},
		{desc: "backslash at end of quote", in: "ECHO \"abc\\\n", want: "unbalanced quotes in request"},
		{desc: "pre-auth 11 args", in: "*11\r\n", lim: pre, want: "unauthenticated multibulk length"},
		{desc: "pre-auth bulk 16385", in: "*1\r\n$16385\r\n", lim: pre, want: "unauthenticated bulk length"},
		{desc: "pre-auth invalid count checked first", in: "*2147483648\r\n", lim: pre, want: "invalid multibulk length"},
		{desc: "pre-auth negative bulk checked first", in: "*1\r\n$-2\r\n", lim: pre, want: "invalid bulk length"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var cmd Command
			n, err := ParseCommand([]byte(tc.in), &cmd, tc.lim)
			var pe *ProtocolError
			if !errors.As(err, &pe) || n != 0 {
				t.Fatalf("ParseCommand(%.40q) = %d, %v; want ProtocolError", tc.in, n, err)
			}
			if want := "Protocol error: " + tc.want; pe.Error() != want {
				t.Fatalf("error %q, want %q", pe.Error(), want)
			}
		})
	}
}

func TestParseCommandIncomplete(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		lim  *Limits
	}{
		{desc: "empty", in: ""},
		{desc: "header CR without next byte", in: "*1\r"},
		{desc: "dollar check waits for the CR", in: "*1\r\nfoo"},
		{desc: "declared 1M, no data", in: "*1000000\r\n"},
		{desc: "512MiB bulk declared", in: "*1\r\n$536870912\r\n"},
		{desc: "pre-auth 10 args is fine", in: "*10\r\n", lim: &Limits{PreAuth: true}},
		{desc: "pre-auth 16384 bulk is fine", in: "*1\r\n$16384\r\n", lim: &Limits{PreAuth: true}},
		{desc: "configured pre-auth args at the limit", in: "*3\r\n", lim: &Limits{PreAuth: true, PreAuthMaxArgs: 3}},
		{desc: "raised pre-auth bulk", in: "*1\r\n$20000\r\n", lim: &Limits{PreAuth: true, PreAuthMaxBulk: 20000}},
		{desc: "NUL in count within limit waits", in: "*1\x00\r\n$4\r\nPING\r\n"},
		{desc: "NUL in inline within limit waits", in: "PI\x00NG\r\n"},
		{desc: "inline at the size limit", in: strings.Repeat("a", 64*1024)},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var cmd Command
			if n, err := ParseCommand([]byte(tc.in), &cmd, tc.lim); err != ErrIncomplete || n != 0 {
				t.Fatalf("ParseCommand(%.40q) = %d, %v; want ErrIncomplete", tc.in, n, err)
			}
		})
	}
}

func TestParseCommandNoPreallocation(t *testing.T) {
	// A 10-byte header declaring 1M arguments must not reserve 1M slots.
	var cmd Command
	in := []byte("*1000000\r\n$1\r\na\r\n")
	allocs := testing.AllocsPerRun(10, func() {
		cmd.Reset()
		if _, err := ParseCommand(in, &cmd, nil); err != ErrIncomplete {
			t.Fatal(err)
		}
	})
	if allocs > 0 || cap(cmd.offs) > 16 {
		t.Fatalf("allocs %v, offs cap %d", allocs, cap(cmd.offs))
	}
}

func TestParseCommandPipelineAndResume(t *testing.T) {
	in := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\nPING\r\n*0\r\n*1\r\n$4\r\nQUIT\r\n"
	want := [][][]byte{args("SET", "k", "value"), args("PING"), args(), args("QUIT")}
	for step := 1; step <= len(in); step++ {
		// Simulate a connection: read step bytes at a time into a buffer
		// that is compacted (moved to the front) after each command.
		var cmd Command
		var buf []byte
		var got [][][]byte
		src := in
		for len(src) > 0 || len(buf) > 0 {
			k := min(step, len(src))
			buf = append(buf, src[:k]...)
			src = src[k:]
			for {
				n, err := ParseCommand(buf, &cmd, nil)
				if err == ErrIncomplete {
					break
				}
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				got = append(got, args(toStrings(cmd.Args)...))
				buf = append(buf[:0:0], buf[n:]...)
			}
			if len(src) == 0 && len(buf) > 0 {
				t.Fatalf("step %d: left over %q", step, buf)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("step %d: got %q", step, got)
		}
		for i := range want {
			if !sameArgs(got[i], want[i]) {
				t.Fatalf("step %d: command %d = %q, want %q", step, i, got[i], want[i])
			}
		}
	}
}

func toStrings(a [][]byte) []string {
	out := make([]string, len(a))
	for i, b := range a {
		out[i] = string(b)
	}
	return out
}

func TestCommandReset(t *testing.T) {
	var cmd Command
	if _, err := ParseCommand([]byte("*2\r\n$1\r\na\r\n"), &cmd, nil); err != ErrIncomplete {
		t.Fatal(err)
	}
	// Without Reset, an unrelated buffer would resume the old parse.
	cmd.Reset()
	n, err := ParseCommand([]byte("*1\r\n$1\r\nb\r\n"), &cmd, nil)
	if err != nil || n != 11 || !sameArgs(cmd.Args, args("b")) {
		t.Fatalf("%d %v %q", n, err, cmd.Args)
	}
}

func TestNameAndEqualFold(t *testing.T) {
	var cmd Command
	if cmd.Name() != nil {
		t.Fatal("empty command has a name")
	}
	if _, err := ParseCommand([]byte("*2\r\n$3\r\nsEt\r\n$1\r\nk\r\n"), &cmd, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		b, s string
		want bool
	}{
		{desc: "mixed case", b: "sEt", s: "SET", want: true},
		{desc: "lower pattern", b: "SET", s: "set", want: true},
		{desc: "different", b: "SET", s: "GET", want: false},
		{desc: "length", b: "SETX", s: "SET", want: false},
		{desc: "non-letters are exact", b: "[", s: "{", want: false},
		{desc: "empty", b: "", s: "", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := EqualFold([]byte(tc.b), tc.s); got != tc.want {
				t.Fatalf("EqualFold(%q, %q) = %v", tc.b, tc.s, got)
			}
		})
	}
	if !EqualFold(cmd.Name(), "SET") {
		t.Fatalf("Name() = %q", cmd.Name())
	}
	if a := testing.AllocsPerRun(100, func() { EqualFold(cmd.Name(), "SET") }); a != 0 {
		t.Fatalf("EqualFold allocates %v", a)
	}
}

func TestNeedIsTheEndOfTheBulkUnderWay(t *testing.T) {
	for _, tc := range []struct {
		desc, in string
		want     int
	}{
		{desc: "payload under way", in: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc", want: len("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n") + 102},
		{desc: "header incomplete", in: "*3\r\n$3\r\nSET\r\n$1", want: 0},
		{desc: "count incomplete", in: "*3", want: 0},
		{desc: "inline", in: "GET k", want: 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var cmd Command
			if _, err := ParseCommand([]byte(tc.in), &cmd, nil); err != ErrIncomplete {
				t.Fatalf("err = %v, want ErrIncomplete", err)
			}
			if got := cmd.Need(); got != tc.want {
				t.Fatalf("Need() = %d, want %d", got, tc.want)
			}
		})
	}
}
