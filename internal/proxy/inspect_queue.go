package proxy

// What the next upstream reply (or replies) of a pending entry turn into.
type xform uint8

const (
	xNone       xform = iota // forward as is
	xSwallow                 // an injected command's reply: drop it
	xReplace                 // drop the upstream reply, send entry.local instead (EXECABORT)
	xInfo                    // INFO: filter the keyspace section to the pinned DB
	xClientList              // CLIENT LIST: only this tenant's upstream connections
	xPubSub                  // strip the tenant's channel prefix
	xHello                   // HELLO: forward, and learn the protocol version
	xKeys                    // a SCAN step answering KEYS (keyscan.go)
)

// Entry kinds.
const (
	eUpstream = iota // n replies will come from upstream
	eLocal           // the proxy answers: entry.local
	eUnsubAll        // UNSUBSCRIBE family without arguments: as many replies as subscriptions then
)

// pending is one request whose reply the client has not yet received.
type pending struct {
	kind    uint8
	x       xform
	subKind uint8 // eUnsubAll: which subscription set
	n       int   // eUpstream: replies still expected
	local   []byte
	// unsafe marks a request during which nothing may be injected: a
	// blocking command still waiting, or a subscription change whose
	// confirmation (and so the RESP2 subscribed state) is not known yet.
	unsafe bool
}

// queue is a FIFO of pending replies kept in a reused ring so the steady
// state does not allocate.
type queue struct {
	items  []pending
	head   int
	size   int
	unsafe int // entries with unsafe set
}

func (q *queue) len() int { return q.size }

func (q *queue) push(p pending) {
	if q.size == len(q.items) {
		n := max(4, 2*len(q.items))
		items := make([]pending, n)
		for i := 0; i < q.size; i++ {
			items[i] = q.items[(q.head+i)%len(q.items)]
		}
		q.items, q.head = items, 0
	}
	q.items[(q.head+q.size)%len(q.items)] = p
	q.size++
	if p.unsafe {
		q.unsafe++
	}
}

func (q *queue) front() *pending {
	if q.size == 0 {
		return nil
	}
	return &q.items[q.head]
}

func (q *queue) pop() {
	if q.items[q.head].unsafe {
		q.unsafe--
	}
	q.items[q.head] = pending{}
	q.head = (q.head + 1) % len(q.items)
	q.size--
}
