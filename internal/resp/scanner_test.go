package resp

import (
	"errors"
	"strings"
	"testing"
)

// validReplies are single complete top-level replies and their Kind.
var validReplies = []struct {
	desc string
	in   string
	kind byte
}{
	{"simple", "+OK\r\n", '+'},
	{"empty simple", "+\r\n", '+'},
	{"error", "-ERR unknown command\r\n", '-'},
	{"integer", ":-42\r\n", ':'},
	{"int64 min", ":-9223372036854775808\r\n", ':'},
	{"bulk", "$5\r\nhello\r\n", '$'},
	{"bulk holding CRLF", "$4\r\na\r\nb\r\n", '$'},
	{"empty bulk", "$0\r\n\r\n", '$'},
	{"null bulk", "$-1\r\n", '$'},
	{"null array", "*-1\r\n", '*'},
	{"empty array", "*0\r\n", '*'},
	{"array", "*2\r\n$1\r\na\r\n:1\r\n", '*'},
	{"nested", "*2\r\n*1\r\n+x\r\n*0\r\n", '*'},
	{"null", "_\r\n", '_'},
	{"double", ",3.14\r\n", ','},
	{"double inf", ",-inf\r\n", ','},
	{"bool", "#t\r\n", '#'},
	{"blob error", "!5\r\nERR x\r\n", '!'},
	{"verbatim", "=8\r\ntxt:abcd\r\n", '='},
	{"big number", "(12345678901234567890\r\n", '('},
	{"map", "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", '%'},
	{"set", "~1\r\n+a\r\n", '~'},
	{"push", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", '>'},
	{"attribute then reply", "|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", '$'},
	{"empty attribute then reply", "|0\r\n:1\r\n", ':'},
	{"two attributes then reply", "|1\r\n+a\r\n:1\r\n|0\r\n+OK\r\n", '+'},
	{"attribute inside array", "*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n", '*'},
	{"streamed string", "$?\r\n;4\r\nHell\r\n;1\r\no\r\n;0\r\n", '$'},
	{"empty streamed string", "$?\r\n;0\r\n", '$'},
	{"streamed array", "*?\r\n:1\r\n*?\r\n.\r\n.\r\n", '*'},
	{"streamed map", "%?\r\n+a\r\n:1\r\n.\r\n", '%'},
	{"streamed set of streamed string", "~?\r\n$?\r\n;1\r\nx\r\n;0\r\n.\r\n", '~'},
}

func TestReplyScannerValid(t *testing.T) {
	for _, tc := range validReplies {
		t.Run(tc.desc, func(t *testing.T) {
			s := NewReplyScanner(DefaultLimits())
			n, done, err := s.Scan([]byte(tc.in + "+next\r\n"))
			if err != nil || !done || n != len(tc.in) || s.Kind() != tc.kind {
				t.Fatalf("Scan = %d, %v, %v kind %q; want %d, true, nil kind %q", n, done, err, s.Kind(), len(tc.in), tc.kind)
			}
			// Split at every pair of boundaries: the reply must end at
			// the same byte however it arrives.
			for i := 0; i <= len(tc.in); i++ {
				for j := i; j <= len(tc.in); j++ {
					s.Reset(DefaultLimits())
					end := scanPieces(t, s, tc.in, i, j)
					if end != len(tc.in) || s.Kind() != tc.kind {
						t.Fatalf("split %d,%d: ended at %d kind %q", i, j, end, s.Kind())
					}
				}
			}
		})
	}
}

// scanPieces scans in as three pieces cut at i and j and returns where the
// first reply ended (-1 if none).
func scanPieces(t *testing.T, s *ReplyScanner, in string, i, j int) int {
	t.Helper()
	off := 0
	for _, piece := range []string{in[:i], in[i:j], in[j:]} {
		n, done, err := s.Scan([]byte(piece))
		if err != nil {
			t.Fatalf("split %d,%d: %v", i, j, err)
		}
		off += n
		if done {
			return off
		}
		if n != len(piece) {
			t.Fatalf("consumed %d of %d without finishing", n, len(piece))
		}
	}
	return -1
}

func TestReplyScannerErrors(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		lim  Limits
	}{
		{desc: "unknown type", in: "?1\r\n"},
		{desc: "inline text", in: "OK\r\n"},
		{desc: "bad integer", in: ":abc\r\n"},
		{desc: "integer overflow", in: ":9223372036854775808\r\n"},
		{desc: "bad bool", in: "#x\r\n"},
		{desc: "null with text", in: "_x\r\n"},
		{desc: "negative bulk", in: "$-2\r\n"},
		{desc: "bulk length int64 max", in: "$9223372036854775807\r\n"},
		{desc: "bulk over limit", in: "$11\r\n", lim: Limits{MaxBulkLen: 10}},
		{desc: "payload without CRLF", in: "$1\r\naXY"},
		{desc: "payload with LF only", in: "$1\r\na\n"},
		{desc: "header with LF only", in: "$1\n"},
		{desc: "header too long", in: "*" + strings.Repeat("1", 70)},
		{desc: "CR in simple string", in: "+a\rb\r\n"},
		{desc: "LF in simple string", in: "+a\nb\r\n"},
		{desc: "negative array", in: "*-2\r\n"},
		{desc: "array over limit", in: "*3\r\n", lim: Limits{MaxArrayLen: 2}},
		{desc: "null map", in: "%-1\r\n"},
		{desc: "streamed push", in: ">?\r\n"},
		{desc: "streamed attribute", in: "|?\r\n"},
		{desc: "too deep", in: "*1\r\n*1\r\n*1\r\n:1\r\n", lim: Limits{MaxDepth: 2}},
		{desc: "too deep attribute", in: "*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", lim: Limits{MaxDepth: 1}},
		{desc: "chunk outside streamed string", in: ";1\r\na\r\n"},
		{desc: "non-chunk in streamed string", in: "$?\r\n+a\r\n"},
		{desc: "end outside stream", in: ".\r\n"},
		{desc: "end in fixed array", in: "*1\r\n.\r\n"},
		{desc: "end in streamed string", in: "$?\r\n.\r\n"},
		{desc: "streamed map ends after key", in: "%?\r\n+a\r\n.\r\n"},
		{desc: "streamed string over limit", in: "$?\r\n;6\r\naaaaaa\r\n;6\r\n", lim: Limits{MaxBulkLen: 10}},
		{desc: "streamed array over limit", in: "*?\r\n:1\r\n:2\r\n:3\r\n", lim: Limits{MaxArrayLen: 2}},
		{desc: "streamed map over limit", in: "%?\r\n:1\r\n:2\r\n:3\r\n", lim: Limits{MaxArrayLen: 1}},
		{desc: "simple line over limit", in: "+" + strings.Repeat("a", 11), lim: Limits{MaxBulkLen: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := NewReplyScanner(tc.lim)
			_, done, err := s.Scan([]byte(tc.in))
			if !errors.Is(err, ErrMalformed) || done {
				t.Fatalf("Scan(%q) = %v, %v; want ErrMalformed", tc.in, done, err)
			}
			// ParseValue applies the same rules.
			if _, _, err := ParseValue([]byte(tc.in), &tc.lim); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseValue(%q) = %v; want ErrMalformed", tc.in, err)
			}
		})
	}
}

func TestReplyScannerAtLimits(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		lim  Limits
	}{
		{desc: "streamed array at limit", in: "*?\r\n:1\r\n:2\r\n.\r\n", lim: Limits{MaxArrayLen: 2}},
		{desc: "streamed map at limit", in: "%?\r\n:1\r\n:2\r\n.\r\n", lim: Limits{MaxArrayLen: 1}},
		{desc: "array at limit", in: "*2\r\n:1\r\n:2\r\n", lim: Limits{MaxArrayLen: 2}},
		{desc: "bulk at limit", in: "$3\r\nabc\r\n", lim: Limits{MaxBulkLen: 3}},
		{desc: "streamed string at limit", in: "$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n", lim: Limits{MaxBulkLen: 3}},
		{desc: "depth at limit", in: "*1\r\n*1\r\n:1\r\n", lim: Limits{MaxDepth: 2}},
		{desc: "simple line at limit", in: "+abc\r\n", lim: Limits{MaxBulkLen: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := NewReplyScanner(tc.lim)
			if n, done, err := s.Scan([]byte(tc.in)); err != nil || !done || n != len(tc.in) {
				t.Fatalf("Scan = %d, %v, %v", n, done, err)
			}
			if _, n, err := ParseValue([]byte(tc.in), &tc.lim); err != nil || n != len(tc.in) {
				t.Fatalf("ParseValue = %d, %v", n, err)
			}
		})
	}
}

func TestReplyScannerStream(t *testing.T) {
	var in strings.Builder
	var ends []int
	for _, r := range validReplies {
		in.WriteString(r.in)
		ends = append(ends, in.Len())
	}
	stream := []byte(in.String())
	for step := 1; step <= 64; step++ {
		s := NewReplyScanner(DefaultLimits())
		var got []int
		off := 0
		for start := 0; start < len(stream); start += step {
			p := stream[start:min(start+step, len(stream))]
			for len(p) > 0 {
				n, done, err := s.Scan(p)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				off += n
				p = p[n:]
				if done {
					got = append(got, off)
				}
			}
		}
		if len(got) != len(ends) {
			t.Fatalf("step %d: %d replies, want %d", step, len(got), len(ends))
		}
		for i := range ends {
			if got[i] != ends[i] {
				t.Fatalf("step %d: reply %d ends at %d, want %d", step, i, got[i], ends[i])
			}
		}
	}
}

func TestReplyScannerHugeBulkNotBuffered(t *testing.T) {
	// A 512 MiB bulk is skipped by counting: header, then 1 MiB pieces of
	// the same buffer, then the CRLF.
	s := NewReplyScanner(DefaultLimits())
	if _, done, err := s.Scan([]byte("$536870912\r\n")); err != nil || done {
		t.Fatal(done, err)
	}
	piece := make([]byte, 1<<20)
	// AllocsPerRun calls f twice (a warm-up and one measured run).
	allocs := testing.AllocsPerRun(1, func() {
		for i := 0; i < 256; i++ {
			if n, done, err := s.Scan(piece); err != nil || done || n != len(piece) {
				t.Fatal(n, done, err)
			}
		}
	})
	if n, done, err := s.Scan([]byte("\r\n")); err != nil || !done || n != 2 {
		t.Fatal(n, done, err)
	}
	if allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}

func TestReplyScannerZeroAlloc(t *testing.T) {
	in := []byte("*3\r\n$3\r\nfoo\r\n%1\r\n+a\r\n*1\r\n:1\r\n|1\r\n+k\r\n+v\r\n_\r\n")
	s := NewReplyScanner(DefaultLimits())
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < len(in); i += 5 {
			if _, _, err := s.Scan(in[i:min(i+5, len(in))]); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per reply", allocs)
	}
}
