package resp

import "bytes"

// Value is one complete RESP2/RESP3 value, for replies the proxy builds or
// rewrites. Str aliases the parsed buffer (except for streamed strings,
// whose chunks are joined into a new slice).
type Value struct {
	Type  byte    // one of the Type* constants
	Str   []byte  // text of + - , ( lines; payload of $ ! = (verbatim keeps its "txt:" prefix)
	Int   int64   // value of ':'; 1 or 0 for '#'
	Null  bool    // "$-1", "*-1" (RESP2 nulls) and "_"
	Elems []Value // elements of * ~ >; keys and values alternating for %
	Attrs []Value // keys and values alternating of the attributes (|) before the value
}

// ParseValue parses one complete value (with any attributes before it) at the
// start of buf and returns it and the bytes it used, or ErrIncomplete.
//
// It first finds the value's end with a ReplyScanner, so it accepts and
// rejects exactly what the scanner does, then decodes the checked bytes.
// Repeated calls on a growing buffer rescan it: to wait for a large reply,
// frame it with a ReplyScanner and call ParseValue once it is complete.
func ParseValue(buf []byte, lim *Limits) (v Value, n int, err error) {
	var s ReplyScanner
	if lim != nil {
		s.lim = *lim
	}
	n, done, err := s.Scan(buf)
	if err != nil {
		return Value{}, 0, err
	}
	if !done {
		return Value{}, 0, ErrIncomplete
	}
	d := decoder{buf: buf[:n], lim: &s.lim}
	v, end, err := d.value(0)
	if err != nil || end != n {
		// Unreachable unless scanner and decoder disagree; the fuzz
		// tests look for exactly that.
		return Value{}, 0, malformed("decoder disagrees with scanner at %d/%d: %v", end, n, err)
	}
	return v, n, nil
}

// decoder builds a Value from bytes a ReplyScanner already accepted. It
// still checks every index so that a disagreement is an error, not a panic.
type decoder struct {
	buf []byte
	lim *Limits
}

func (d *decoder) value(pos int) (Value, int, error) {
	var attrs []Value
	for {
		if pos >= len(d.buf) {
			return Value{}, pos, ErrIncomplete
		}
		t := d.buf[pos]
		if lineType(t) {
			cr := bytes.IndexByte(d.buf[pos:], '\r')
			if cr < 0 || pos+cr+2 > len(d.buf) {
				return Value{}, pos, ErrIncomplete
			}
			end := pos + cr
			return Value{Type: t, Str: d.buf[pos+1 : end : end], Attrs: attrs}, end + 2, nil
		}
		h, next, err := d.header(pos)
		if err != nil {
			return Value{}, pos, err
		}
		pos = next
		v := Value{Type: t, Int: h.ival, Null: h.null}
		switch h.kind {
		case hdrPayload:
			if v.Str, pos, err = d.payload(pos, h.count); err != nil {
				return Value{}, pos, err
			}
		case hdrAgg:
			for i := int64(0); i < h.count; i++ {
				var e Value
				if e, pos, err = d.value(pos); err != nil {
					return Value{}, pos, err
				}
				v.Elems = append(v.Elems, e)
			}
			if t == TypeAttribute {
				attrs = append(attrs, v.Elems...)
				continue
			}
		case hdrStream:
			if t == TypeBulk {
				v.Str, pos, err = d.chunks(pos)
			} else {
				v.Elems, pos, err = d.streamed(pos)
			}
			if err != nil {
				return Value{}, pos, err
			}
		case hdrEnd:
			return Value{}, pos, malformed("unexpected stream end")
		}
		v.Attrs = attrs
		return v, pos, nil
	}
}

// header reads the header line at pos and returns it interpreted and the
// position after its CRLF.
func (d *decoder) header(pos int) (header, int, error) {
	nl := bytes.IndexByte(d.buf[pos:], '\n')
	if nl < 2 {
		return header{}, pos, ErrIncomplete
	}
	h, err := parseHeader(d.buf[pos], d.buf[pos+1:pos+nl-1], d.lim)
	return h, pos + nl + 1, err
}

func (d *decoder) payload(pos int, size int64) ([]byte, int, error) {
	if size > int64(len(d.buf)-pos-2) {
		return nil, pos, ErrIncomplete
	}
	end := pos + int(size)
	return d.buf[pos:end:end], end + 2, nil
}

// chunks joins the chunks of a streamed string ("$?" then ";n" parts, ";0").
func (d *decoder) chunks(pos int) ([]byte, int, error) {
	out := []byte{}
	for {
		h, next, err := d.header(pos)
		if err != nil {
			return nil, pos, err
		}
		if h.typ != typeChunk {
			return nil, pos, malformed("expected a chunk")
		}
		if h.count == 0 {
			return out, next, nil
		}
		var part []byte
		if part, pos, err = d.payload(next, h.count); err != nil {
			return nil, pos, err
		}
		out = append(out, part...)
	}
}

// streamed reads the elements of a streamed aggregate up to its ".".
func (d *decoder) streamed(pos int) ([]Value, int, error) {
	var elems []Value
	for {
		if pos < len(d.buf) && d.buf[pos] == typeStreamEnd {
			_, next, err := d.header(pos)
			return elems, next, err
		}
		var e Value
		var err error
		if e, pos, err = d.value(pos); err != nil {
			return nil, pos, err
		}
		elems = append(elems, e)
	}
}
