package resp

import "bytes"

// ReplyScanner finds reply boundaries in a stream of RESP2/RESP3 replies
// without copying or buffering payloads: bulk bodies are skipped by counting
// and only header lines (at most 64 bytes) are kept between calls. It holds a
// small stack of open aggregates, so it allocates only while that stack grows
// to its deepest nesting; steady-state scanning does not allocate.
//
// A RESP3 attribute (|) belongs to the reply that follows it: both form one
// message. After an error the stream is out of sync; Reset or discard the
// scanner.
type ReplyScanner struct {
	lim   Limits
	stack []frame
	state scanState

	line  [maxHeaderLine]byte // header line being assembled, type byte first
	lineN int
	cr    bool  // stText: the previous byte was '\r'
	textN int64 // stText: text bytes seen so far
	skip  int64 // stPayload: payload bytes still to skip

	cur  byte // type of the top-level reply being scanned
	kind byte // type of the last completed top-level reply
}

type scanState uint8

const (
	stHeader  scanState = iota // assembling a header line (lineN bytes so far)
	stText                     // skipping the text of a +, -, , or ( line
	stPayload                  // skipping skip bytes of bulk payload
	stCR                       // expecting the '\r' after a payload
	stLF                       // expecting the '\n' after a payload
)

// frame is one open aggregate or streamed string.
type frame struct {
	typ      byte
	streamed bool
	left     int64 // elements still due (fixed-size aggregates)
	seen     int64 // elements seen (streamed aggregate) or bytes (streamed string)
}

// NewReplyScanner returns a scanner enforcing lim (zero fields: defaults).
func NewReplyScanner(lim Limits) *ReplyScanner {
	s := &ReplyScanner{}
	s.Reset(lim)
	return s
}

// Reset prepares s for a new stream, keeping its stack's memory.
func (s *ReplyScanner) Reset(lim Limits) {
	stack := s.stack[:0]
	*s = ReplyScanner{lim: lim, stack: stack}
}

// Kind returns the type byte of the last completed top-level reply ('>' for
// a push, '-' for an error, never '|'), valid after Scan reported done.
func (s *ReplyScanner) Kind() byte { return s.kind }

// Scan consumes bytes of p up to and including the end of the current
// top-level reply. It returns how many bytes it consumed and whether a reply
// ended exactly at p[n-1]; call again with p[n:] (or the next read). Errors
// wrap ErrMalformed.
func (s *ReplyScanner) Scan(p []byte) (n int, done bool, err error) {
	i := 0
	for i < len(p) {
		switch s.state {
		case stPayload:
			k := int(min(s.skip, int64(len(p)-i)))
			i += k
			s.skip -= int64(k)
			if s.skip == 0 {
				s.state = stCR
			}
			continue
		case stCR, stLF:
			want := byte('\r')
			if s.state == stLF {
				want = '\n'
			}
			if p[i] != want {
				return i, false, malformed("payload not followed by CRLF")
			}
			i++
			if s.state == stCR {
				s.state = stLF
				continue
			}
			s.state = stHeader
			if top := s.top(); top != nil && top.typ == TypeBulk && top.streamed {
				continue // a chunk of a streamed string ended, not a value
			}
			done = s.valueDone()
		case stText:
			var end bool
			i, end, err = s.text(p, i)
			if err != nil {
				return i, false, err
			}
			if end {
				s.state = stHeader
				done = s.valueDone()
			}
		case stHeader:
			var line []byte
			i, line, err = s.assemble(p, i)
			if err != nil {
				return i, false, err
			}
			if line != nil {
				if done, err = s.header(line); err != nil {
					return i, false, err
				}
			}
		}
		if done {
			s.kind = s.cur
			return i, true, nil
		}
	}
	return i, false, nil
}

func (s *ReplyScanner) top() *frame {
	if len(s.stack) == 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

// assemble adds header bytes from p[i:] to s.line. It returns the complete
// line without CRLF once its '\n' arrived, or nil when it needs more bytes.
// Free-form lines are handed over to stText at their type byte.
func (s *ReplyScanner) assemble(p []byte, i int) (int, []byte, error) {
	if s.lineN == 0 {
		t := p[i]
		if top := s.top(); top != nil && top.typ == TypeBulk && top.streamed && t != typeChunk {
			return i, nil, malformed("type %q inside a streamed string", t)
		}
		// Streamed aggregates declare no count; cap them like counted ones
		// so that ParseValue cannot be made to build unbounded arrays.
		if top := s.top(); top != nil && top.streamed && top.typ != TypeBulk && t != typeStreamEnd {
			per, _ := aggregateType(top.typ)
			if top.seen >= s.lim.maxArray()*per {
				return i, nil, malformed("streamed aggregate over limit")
			}
		}
		if lineType(t) {
			if len(s.stack) == 0 {
				s.cur = t
			}
			s.state, s.cr, s.textN = stText, false, 0
			return i + 1, nil, nil
		}
		if !knownHeaderType(t) {
			return i, nil, malformed("invalid type byte %q", t)
		}
	}
	j := bytes.IndexByte(p[i:], '\n')
	if j < 0 {
		if s.lineN+len(p)-i >= maxHeaderLine {
			return i, nil, malformed("header line too long")
		}
		s.lineN += copy(s.line[s.lineN:], p[i:])
		return len(p), nil, nil
	}
	if s.lineN+j+1 > maxHeaderLine {
		return i, nil, malformed("header line too long")
	}
	s.lineN += copy(s.line[s.lineN:], p[i:i+j+1])
	line := s.line[:s.lineN]
	s.lineN = 0
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return i + j + 1, nil, malformed("header line not ended by CRLF")
	}
	return i + j + 1, line[:len(line)-2], nil
}

// text skips the text of a free-form line, which may hold neither '\r' nor
// '\n' except as its terminating CRLF.
func (s *ReplyScanner) text(p []byte, i int) (int, bool, error) {
	for ; i < len(p); i++ {
		c := p[i]
		if s.cr {
			if c != '\n' {
				return i, false, malformed("'\\r' inside a simple line")
			}
			return i + 1, true, nil
		}
		switch c {
		case '\r':
			s.cr = true
		case '\n':
			return i, false, malformed("'\\n' inside a simple line")
		default:
			s.textN++
			if s.textN > s.lim.maxBulk() {
				return i, false, malformed("simple line over limit")
			}
		}
	}
	return i, false, nil
}

// header acts on one complete header line.
func (s *ReplyScanner) header(line []byte) (bool, error) {
	t, top := line[0], s.top()
	inStreamedString := top != nil && top.typ == TypeBulk && top.streamed
	if t == typeChunk && !inStreamedString {
		return false, malformed("chunk outside a streamed string")
	}
	h, err := parseHeader(t, line[1:], &s.lim)
	if err != nil {
		return false, err
	}
	if len(s.stack) == 0 && t != TypeAttribute {
		s.cur = t
	}
	switch h.kind {
	case hdrScalar:
		return s.valueDone(), nil
	case hdrPayload:
		if t == typeChunk {
			if h.count == 0 {
				s.stack = s.stack[:len(s.stack)-1]
				return s.valueDone(), nil
			}
			if top.seen += h.count; top.seen > s.lim.maxBulk() {
				return false, malformed("streamed string over limit")
			}
		}
		s.state, s.skip = stPayload, h.count
		return false, nil
	case hdrEnd:
		if top == nil || !top.streamed || top.typ == TypeBulk {
			return false, malformed("stream end outside a streamed aggregate")
		}
		if top.typ == TypeMap && top.seen%2 != 0 {
			return false, malformed("streamed map ended after a key")
		}
		s.stack = s.stack[:len(s.stack)-1]
		return s.valueDone(), nil
	case hdrAgg:
		if h.count == 0 {
			if t == TypeAttribute {
				return false, nil // an empty attribute; its reply follows
			}
			return s.valueDone(), nil
		}
		return false, s.push(frame{typ: t, left: h.count})
	default: // hdrStream
		return false, s.push(frame{typ: t, streamed: true})
	}
}

func (s *ReplyScanner) push(f frame) error {
	if len(s.stack) >= s.lim.maxDepth() {
		return malformed("nesting deeper than %d", s.lim.maxDepth())
	}
	s.stack = append(s.stack, f)
	return nil
}

// valueDone records that a value ended and reports whether it was a whole
// top-level reply. Completed aggregates count as values of their parent; a
// completed attribute does not, since the value it annotates follows.
func (s *ReplyScanner) valueDone() bool {
	for len(s.stack) > 0 {
		f := &s.stack[len(s.stack)-1]
		if f.streamed {
			f.seen++
			return false
		}
		if f.left--; f.left > 0 {
			return false
		}
		s.stack = s.stack[:len(s.stack)-1]
		if f.typ == TypeAttribute {
			return false
		}
	}
	return true
}
