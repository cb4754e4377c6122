package resp

import (
	"errors"
	"testing"
)

// FuzzParseCommand: never panics; errors are ErrIncomplete or a
// *ProtocolError; parsed args survive a multibulk round trip; and parsing
// the input whole or as a growing buffer (resuming) gives the same result.
func FuzzParseCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var cmd Command
		n, err := ParseCommand(data, &cmd, nil)
		got := args(toStrings(cmd.Args)...)
		var pe *ProtocolError
		switch {
		case err == nil:
			if n <= 0 || n > len(data) {
				t.Fatalf("n = %d for %d bytes", n, len(data))
			}
			if len(got) > 0 {
				enc := AppendCommandBytes(nil, got)
				var again Command
				n2, err2 := ParseCommand(enc, &again, nil)
				if err2 != nil || n2 != len(enc) || !sameArgs(again.Args, got) {
					t.Fatalf("round trip of %q: %d, %v, %q", got, n2, err2, again.Args)
				}
			}
		case err == ErrIncomplete:
			if n != 0 {
				t.Fatalf("n = %d with ErrIncomplete", n)
			}
		case errors.As(err, &pe):
			if n != 0 {
				t.Fatalf("n = %d with %v", n, err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
		for _, step := range []int{1, 3, 17} {
			var c Command
			var n2 int
			var err2 error
			for end := min(step, len(data)); ; end = min(end+step, len(data)) {
				n2, err2 = ParseCommand(data[:end], &c, nil)
				if err2 != ErrIncomplete || end == len(data) {
					break
				}
			}
			if n2 != n || errText(err2) != errText(err) || !sameArgs(c.Args, got) {
				t.Fatalf("step %d: %d, %v, %q; whole: %d, %v, %q", step, n2, err2, c.Args, n, err, got)
			}
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type scanResult struct {
	ends  []int
	kinds []byte
	err   bool
}

// scanAll scans data as the given pieces and records every reply end.
func scanAll(t *testing.T, data []byte, cuts ...int) scanResult {
	var r scanResult
	s := NewReplyScanner(DefaultLimits())
	off, prev := 0, 0
	for _, c := range append(cuts, len(data)) {
		p := data[prev:c]
		prev = c
		for len(p) > 0 {
			n, done, err := s.Scan(p)
			if n < 0 || n > len(p) {
				t.Fatalf("n = %d of %d", n, len(p))
			}
			if err != nil {
				r.err = true
				return r
			}
			off += n
			p = p[n:]
			if done {
				r.ends = append(r.ends, off)
				r.kinds = append(r.kinds, s.Kind())
			} else if len(p) > 0 {
				t.Fatalf("stopped at %d of %d without a reply end", n, n+len(p))
			}
		}
	}
	return r
}

// FuzzReplyScanner: reply boundaries do not depend on how the input is
// split, and ParseValue agrees on each reply's length.
func FuzzReplyScanner(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16) {
		whole := scanAll(t, data)
		a, b := int(cut1)%(len(data)+1), int(cut2)%(len(data)+1)
		split := scanAll(t, data, min(a, b), max(a, b))
		if whole.err != split.err || len(whole.ends) != len(split.ends) {
			t.Fatalf("whole %+v, split at %d,%d %+v", whole, a, b, split)
		}
		for i := range whole.ends {
			if whole.ends[i] != split.ends[i] || whole.kinds[i] != split.kinds[i] {
				t.Fatalf("whole %+v, split at %d,%d %+v", whole, a, b, split)
			}
		}
		start := 0
		for _, end := range whole.ends {
			v, n, err := ParseValue(data[start:], nil)
			if err != nil || n != end-start {
				t.Fatalf("ParseValue at %d: %d, %v; scanner says %d", start, n, err, end-start)
			}
			if v.Type == TypeAttribute {
				t.Fatalf("attribute returned as a value")
			}
			start = end
		}
		_, _, err := ParseValue(data[start:], nil)
		switch {
		case whole.err && !errors.Is(err, ErrMalformed):
			t.Fatalf("scanner failed, ParseValue at %d: %v", start, err)
		case !whole.err && start < len(data) && err != ErrIncomplete:
			t.Fatalf("scanner wants more, ParseValue at %d: %v", start, err)
		}
	})
}

// FuzzParseValue: AppendValue(ParseValue(x)) parses back to the same value
// and encodes to the same bytes again.
func FuzzParseValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := ParseValue(data, nil)
		if err != nil {
			if err != ErrIncomplete && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d for %d bytes", n, len(data))
		}
		enc := AppendValue(nil, v)
		v2, n2, err := ParseValue(enc, nil)
		if err != nil || n2 != len(enc) || !equalValue(v, v2) {
			t.Fatalf("round trip of %q via %q: %+v, %d, %v; want %+v", data[:n], enc, v2, n2, err, v)
		}
		if enc2 := AppendValue(nil, v2); string(enc2) != string(enc) {
			t.Fatalf("re-encoding differs: %q vs %q", enc2, enc)
		}
	})
}
