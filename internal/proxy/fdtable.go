package proxy

import "sync/atomic"

// fdTable maps a socket's descriptor number to its endpoint, for the event
// loops. Descriptor numbers are small and dense, so it is a two-level array
// rather than a map: a lookup is two loads, with no lock on the loop's
// path, and a session goroutine can register a pair without waking a loop.
type fdTable struct {
	chunks [fdChunks]atomic.Pointer[fdChunk]
}

const (
	fdChunkBits = 12
	fdChunkSize = 1 << fdChunkBits
	fdChunks    = 1 << 12 // descriptors up to 16M; more fall back to goroutine relays
)

type fdChunk [fdChunkSize]atomic.Pointer[endpoint]

// sockets is the process-wide table (descriptor numbers are process-wide).
var sockets fdTable

func (t *fdTable) get(fd int) *endpoint {
	if fd < 0 || fd >= fdChunks*fdChunkSize {
		return nil
	}
	c := t.chunks[fd>>fdChunkBits].Load()
	if c == nil {
		return nil
	}
	return c[fd&(fdChunkSize-1)].Load()
}

// set stores ep (nil to clear) and reports whether fd fits the table.
func (t *fdTable) set(fd int, ep *endpoint) bool {
	if fd < 0 || fd >= fdChunks*fdChunkSize {
		return false
	}
	slot := &t.chunks[fd>>fdChunkBits]
	c := slot.Load()
	if c == nil {
		if ep == nil {
			return true
		}
		slot.CompareAndSwap(nil, new(fdChunk))
		c = slot.Load()
	}
	c[fd&(fdChunkSize-1)].Store(ep)
	return true
}
