package resp

import "math"

// maxNumberLen mirrors redis's LONG_STR_SIZE (21): string2ll rejects any
// number text of 21 bytes or more, and so do we.
const maxNumberLen = 21

// parseInt parses b with the rules of redis's string2ll: an optional '-', no
// '+', no leading zeros (except "0" itself), no spaces, no overflow. Matching
// string2ll byte for byte keeps us in agreement with the upstream about
// which lengths are valid.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) >= maxNumberLen {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > uint64(math.MaxInt64)+1 {
			return 0, false
		}
		return int64(-v), true // -v wraps to the right value for MinInt64 too
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}
