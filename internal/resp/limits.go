package resp

import "math"

// Limits bounds what a peer may make us accept. A zero field means the
// default, so Limits{PreAuth: true} is a usable value.
type Limits struct {
	MaxBulkLen   int64 // largest bulk string; default 512 MiB (proto-max-bulk-len)
	MaxArrayLen  int   // largest declared array / map count; default INT_MAX, as redis-server's multibulk limit
	MaxInlineLen int   // longest inline request or header line; default 64 KiB (PROTO_INLINE_MAX_SIZE)
	MaxDepth     int   // deepest reply nesting; default 128
	// PreAuth applies the limits for unauthenticated clients: a multibulk
	// of more than PreAuthMaxArgs arguments or a bulk longer than
	// PreAuthMaxBulk bytes is a protocol error.
	PreAuth bool
	// Defaults are redis-server's: 10 arguments, 16384 bytes.
	PreAuthMaxArgs int
	PreAuthMaxBulk int64
}

const (
	defaultMaxBulkLen   = 512 << 20
	defaultMaxArrayLen  = math.MaxInt32
	defaultMaxInlineLen = 64 << 10
	defaultMaxDepth     = 128

	// Limits redis-server applies before a client authenticated (networking.c).
	preAuthMaxArgs    = 10
	preAuthMaxBulkLen = 16384
)

// DefaultLimits returns redis-server's defaults. Counts are not allocated
// from: a declared count only bounds what may follow.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkLen:   defaultMaxBulkLen,
		MaxArrayLen:  defaultMaxArrayLen,
		MaxInlineLen: defaultMaxInlineLen,
		MaxDepth:     defaultMaxDepth,
	}
}

// The accessors below tolerate a nil receiver and zero fields so that callers
// can pass nil or a partly filled Limits.

func (l *Limits) maxBulk() int64 {
	if l == nil || l.MaxBulkLen <= 0 {
		return defaultMaxBulkLen
	}
	return l.MaxBulkLen
}

func (l *Limits) maxArray() int64 {
	if l == nil || l.MaxArrayLen <= 0 {
		return defaultMaxArrayLen
	}
	return int64(l.MaxArrayLen)
}

func (l *Limits) maxInline() int {
	if l == nil || l.MaxInlineLen <= 0 {
		return defaultMaxInlineLen
	}
	return l.MaxInlineLen
}

func (l *Limits) maxDepth() int {
	if l == nil || l.MaxDepth <= 0 {
		return defaultMaxDepth
	}
	// Clamp so that depth arithmetic can never overflow.
	return min(l.MaxDepth, math.MaxInt32)
}

func (l *Limits) preAuth() bool { return l != nil && l.PreAuth }

func (l *Limits) preAuthArgs() int64 {
	if l == nil || l.PreAuthMaxArgs <= 0 {
		return preAuthMaxArgs
	}
	return int64(l.PreAuthMaxArgs)
}

func (l *Limits) preAuthBulk() int64 {
	if l == nil || l.PreAuthMaxBulk <= 0 {
		return preAuthMaxBulkLen
	}
	return l.PreAuthMaxBulk
}
