package resp

import (
	"bytes"
	"fmt"
)

// headerKind says what follows a header line.
type headerKind uint8

const (
	hdrScalar  headerKind = iota // the value is complete (":1", "#t", "_", "$-1", "*-1")
	hdrPayload                   // size bytes of payload and "\r\n" follow ("$3", "!3", "=7", ";3")
	hdrAgg                       // count elements follow ("*2", "%1" = 2 elements)
	hdrStream                    // a streamed aggregate or string ("*?", "$?")
	hdrEnd                       // "." ends a streamed aggregate
)

type header struct {
	kind  headerKind
	typ   byte
	null  bool
	ival  int64 // ':' value, '#' as 1 or 0
	count int64 // payload bytes (hdrPayload) or elements (hdrAgg)
}

var (
	bodyStream = []byte("?")
	bodyNull   = []byte("-1")
)

// malformed wraps ErrMalformed with detail. Only error paths allocate.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// knownHeaderType reports whether t is a type byte whose line is buffered
// and interpreted by parseHeader.
func knownHeaderType(t byte) bool {
	switch t {
	case TypeInt, TypeBool, TypeNull, TypeBulk, TypeBlobError, TypeVerbatim,
		TypeArray, TypeMap, TypeSet, TypeAttribute, TypePush, typeChunk, typeStreamEnd:
		return true
	}
	return false
}

// parseHeader interprets a header line (type byte and text, CRLF removed).
// Both ReplyScanner and ParseValue use it, so they cannot disagree on what a
// header means or on which limits apply.
func parseHeader(t byte, body []byte, lim *Limits) (header, error) {
	h := header{typ: t}
	switch t {
	case TypeInt:
		v, ok := parseInt(body)
		if !ok {
			return h, malformed("invalid integer %q", body)
		}
		h.ival = v
		return h, nil
	case TypeBool:
		if len(body) != 1 || body[0] != 't' && body[0] != 'f' {
			return h, malformed("invalid boolean %q", body)
		}
		if body[0] == 't' {
			h.ival = 1
		}
		return h, nil
	case TypeNull:
		if len(body) != 0 {
			return h, malformed("invalid null %q", body)
		}
		h.null = true
		return h, nil
	case typeStreamEnd:
		if len(body) != 0 {
			return h, malformed("invalid stream end %q", body)
		}
		h.kind = hdrEnd
		return h, nil
	case TypeBulk, TypeBlobError, TypeVerbatim, typeChunk:
		if t == TypeBulk && bytes.Equal(body, bodyStream) {
			h.kind = hdrStream
			return h, nil
		}
		if t == TypeBulk && bytes.Equal(body, bodyNull) {
			h.null = true
			return h, nil
		}
		n, ok := parseInt(body)
		if !ok || n < 0 {
			return h, malformed("invalid length %q", body)
		}
		if n > lim.maxBulk() {
			return h, malformed("bulk length %d over limit", n)
		}
		h.kind, h.count = hdrPayload, n
		return h, nil
	}
	per, ok := aggregateType(t)
	if !ok {
		return h, malformed("invalid type byte %q", t)
	}
	if streamable(t) && bytes.Equal(body, bodyStream) {
		h.kind = hdrStream
		return h, nil
	}
	if t == TypeArray && bytes.Equal(body, bodyNull) {
		h.null = true
		return h, nil
	}
	n, ok := parseInt(body)
	if !ok || n < 0 {
		return h, malformed("invalid count %q", body)
	}
	if n > lim.maxArray() {
		return h, malformed("count %d over limit", n)
	}
	h.kind, h.count = hdrAgg, n*per
	return h, nil
}
