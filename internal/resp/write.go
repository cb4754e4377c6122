package resp

import "strconv"

// The Append* writers add RESP to b and return the extended slice, like
// strconv.Append*. They do not allocate when b has room.

// AppendError appends an error reply "-s\r\n"; s is without the leading '-'
// (e.g. "ERR unknown command").
func AppendError(b []byte, s string) []byte { return appendLine(b, TypeError, s) }

// appendLine writes a one-line reply. '\r' and '\n' in s become spaces, as
// in redis's addReplyErrorFormat: text that can hold client input (an
// unknown command's name) must not be able to inject a second reply.
func appendLine[S string | []byte](b []byte, t byte, s S) []byte {
	b = append(b, t)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}

// AppendInt appends an integer reply ":n\r\n".
func AppendInt(b []byte, n int64) []byte {
	b = append(b, TypeInt)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends x as a bulk string "$len\r\nx\r\n".
func AppendBulk(b, x []byte) []byte { return appendBlob(b, TypeBulk, x) }

// AppendBulkString appends s as a bulk string.
func AppendBulkString(b []byte, s string) []byte { return appendBlob(b, TypeBulk, s) }

func appendBlob[S string | []byte](b []byte, t byte, x S) []byte {
	b = appendHeader(b, t, int64(len(x)))
	b = append(b, x...)
	return append(b, '\r', '\n')
}

// AppendNullBulk appends the RESP2 null bulk string "$-1\r\n".
func AppendNullBulk(b []byte) []byte { return append(b, "$-1\r\n"...) }

// AppendArrayHeader appends "*n\r\n"; n elements must follow.
func AppendArrayHeader(b []byte, n int) []byte { return appendHeader(b, TypeArray, int64(n)) }

// AppendCommand appends a request as a multibulk of bulk strings, the form
// every server accepts.
func AppendCommand(b []byte, args ...string) []byte {
	b = AppendArrayHeader(b, len(args))
	for _, a := range args {
		b = AppendBulkString(b, a)
	}
	return b
}

func appendHeader(b []byte, t byte, n int64) []byte {
	b = append(b, t)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendValue appends v in its own type's encoding (streamed values come out
// with plain lengths). Attrs are written as one attribute before the value;
// an odd trailing attribute key is dropped. A Value with an unknown Type is
// written as a null bulk string, so the output always stays in sync.
func AppendValue(b []byte, v Value) []byte {
	if len(v.Attrs) >= 2 {
		pairs := len(v.Attrs) / 2
		b = appendHeader(b, TypeAttribute, int64(pairs))
		for _, e := range v.Attrs[:2*pairs] {
			b = AppendValue(b, e)
		}
	}
	switch v.Type {
	case TypeSimple, TypeError, TypeDouble, TypeBigNumber:
		return appendLine(b, v.Type, v.Str)
	case TypeInt:
		return AppendInt(b, v.Int)
	case TypeNull:
		return append(b, "_\r\n"...)
	case TypeBool:
		if v.Int != 0 {
			return append(b, "#t\r\n"...)
		}
		return append(b, "#f\r\n"...)
	case TypeBulk:
		if v.Null {
			return AppendNullBulk(b)
		}
		return appendBlob(b, TypeBulk, v.Str)
	case TypeBlobError, TypeVerbatim:
		return appendBlob(b, v.Type, v.Str)
	case TypeArray, TypeSet, TypePush:
		if v.Null && v.Type == TypeArray {
			return append(b, "*-1\r\n"...)
		}
		b = appendHeader(b, v.Type, int64(len(v.Elems)))
		for _, e := range v.Elems {
			b = AppendValue(b, e)
		}
		return b
	case TypeMap:
		pairs := len(v.Elems) / 2
		b = appendHeader(b, TypeMap, int64(pairs))
		for _, e := range v.Elems[:2*pairs] {
			b = AppendValue(b, e)
		}
		return b
	}
	return AppendNullBulk(b)
}
