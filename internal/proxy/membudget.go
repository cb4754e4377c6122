package proxy

import (
	"errors"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// memBudget bounds the request bytes all sessions of a process may hold
// beyond their pooled read buffers: the partial large commands a reader
// must keep whole before the relay can decide about them. A session that
// cannot get its share gets an error and is closed, never the process
// killed for memory (limits.request_memory_budget). Sizes are charged
// before the memory is allocated and given back when it is dropped.
type memBudget struct {
	limit atomic.Int64
	used  atomic.Int64
	// freed counts large buffers given back since the last return of
	// memory to the operating system (see returnMemory).
	freed atomic.Int64
	once  sync.Once
}

// requestBudget is the configured budget, or the default for limits that
// did not go through config defaults.
func requestBudget(l *config.Limits) int64 {
	if l.RequestMemoryBudget > 0 {
		return l.RequestMemoryBudget
	}
	return config.DefaultRequestMemoryBudget()
}

func newMemBudget(limit int64) *memBudget {
	m := &memBudget{}
	m.setLimit(limit)
	return m
}

// gcHeadroom is what the process may use beyond the request budget before
// Go's collector works harder (sessions, pooled buffers, replies under
// way, outgrown request buffers not yet collected): an eighth of the
// budget, at least 64 MiB.
func gcHeadroom(budget int64) int64 { return max(budget/8, 64<<20) }

// setLimit sets the budget, and Go's soft memory limit to the budget plus
// its gcHeadroom (unless the operator set GOMEMLIMIT). The budget counts the
// buffers in use; buffers a request has outgrown are garbage until the
// next collection, and with Go's default pacing (a collection when the
// heap has doubled) they kept RSS a third above the budget in the
// reproductions (scripts/memory-repro.sh); the soft limit has the
// collector run before that.
func (m *memBudget) setLimit(limit int64) {
	m.limit.Store(limit)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit + gcHeadroom(limit))
	}
}

// reserve charges n bytes if they fit.
func (m *memBudget) reserve(n int64) bool {
	if m == nil || n <= 0 {
		return true
	}
	for {
		used := m.used.Load()
		if used+n > m.limit.Load() {
			return false
		}
		if m.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// free gives n charged bytes back.
func (m *memBudget) free(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.used.Add(-n)
	if n >= bigBuffer && m.freed.Add(n) >= returnAfter {
		m.once.Do(func() { go m.returnMemory() })
	}
}

const (
	// bigBuffer is the size from which a freed buffer counts towards
	// returning memory to the operating system.
	bigBuffer = 1 << 20
	// returnAfter is how much must have been freed in large buffers
	// before the heap is returned to the operating system.
	returnAfter = 64 << 20
	// returnEvery spaces out those returns: each is a full collection.
	returnEvery = 5 * time.Second
)

// returnMemory hands the heap's free pages back to the operating system
// after large request buffers were dropped. Go's background scavenger
// does this too, but slowly (measured: a few hundred MB freed by closed
// sessions stayed resident for minutes); debug.FreeOSMemory returns them
// at once, at the price of a full collection, so it runs at most every
// returnEvery and only after returnAfter bytes of large buffers were freed.
func (m *memBudget) returnMemory() {
	for {
		time.Sleep(returnEvery)
		if m.freed.Swap(0) >= returnAfter || m.used.Load() == 0 && m.freed.Load() > 0 {
			debug.FreeOSMemory()
		}
	}
}

// Why a client's request could not be kept.
var (
	errQueryBufferLimit = errors.New("request over the client query buffer limit")
	errRequestBudget    = errors.New("request memory budget exhausted")
)

// Replies for them: the session closes after, as redis-server closes a
// client over client-query-buffer-limit.
var (
	replyQueryBufferLimit = []byte("-ERR request too large: client query buffer limit reached, closing the connection\r\n")
	replyRequestBudget    = []byte("-ERR request too large for the gateway now: its request memory budget is exhausted, closing the connection\r\n")
)

func requestMemoryReply(err error) []byte {
	if errors.Is(err, errQueryBufferLimit) {
		return replyQueryBufferLimit
	}
	return replyRequestBudget
}
