package proxy

import "time"

// A request is one client command (or one the proxy injected) whose reply
// the client has not had yet. Each knows what completes it, and completion
// is decided from what the upstream actually sends back (replies.go), never
// from a count predicted when the command was sent: a prediction can drift
// (an error in place of N confirmations, a RESET that overtakes them), and
// a queue shifted by one hands an unfiltered reply to the filter's place.

// waitKind says what completes a request.
type waitKind uint8

const (
	wLocal    waitKind = iota // the proxy answers: request.local
	wReply                    // exactly one upstream reply
	wConfirm                  // one confirmation per name in request.names, in order, or one error
	wUnsubAll                 // confirmations until no subscription of request.set is left, or one error
)

// What the upstream reply of a request turns into on its way to the client.
type xform uint8

const (
	xNone       xform = iota // forward as is
	xSwallow                 // an injected command's reply: drop it
	xReplace                 // drop the upstream reply, send request.local instead (EXECABORT)
	xInfo                    // INFO: filter the keyspace section to the pinned DB
	xClientList              // CLIENT LIST: only this tenant's upstream connections
	xPubSub                  // strip the tenant's channel prefix (PUBSUB CHANNELS / NUMSUB)
	xHello                   // HELLO: forward, and learn the protocol version
	xReset                   // RESET: forward, and forget subscriptions and RESP3 once +RESET arrives
	xKeys                    // a SCAN step answering KEYS (keyscan.go): completes with the iteration's last step
)

// request is one entry of the reply queue.
type request struct {
	wait waitKind
	x    xform
	set  uint8  // wConfirm, wUnsubAll: which subscription set (subChannel, subPattern, subShard)
	op   string // wConfirm, wUnsubAll: the confirmation's kind, which is the command's name ("psubscribe")
	// names are the channels or patterns still to be confirmed, as sent
	// upstream (prefixed), for wConfirm.
	names [][]byte
	local []byte // wLocal: the reply; xReplace: the replacement
	// multi: sent while the client was inside MULTI, so the upstream
	// answers +QUEUED; a reply that needs rewriting must never be +QUEUED.
	multi bool
	// unsafe marks a request during which nothing may be injected: a
	// blocking command still waiting, or a subscription change whose
	// confirmation (and so the RESP2 subscribed state) is not known yet.
	unsafe bool
	// sent is when a client's command went upstream (wReply, xNone), for
	// the command latency metric (observe.go); zero for anything else.
	sent time.Time
}

// queue is a FIFO of requests kept in a reused ring so the steady state
// does not allocate. It also keeps the figures back-pressure looks at.
type queue struct {
	items  []request
	head   int
	size   int
	unsafe int // requests with unsafe set
	local  int // bytes of local replies waiting in the queue
}

func (q *queue) len() int { return q.size }

func (q *queue) push(r request) {
	if q.size == len(q.items) {
		n := max(4, 2*len(q.items))
		items := make([]request, n)
		for i := 0; i < q.size; i++ {
			items[i] = q.items[(q.head+i)%len(q.items)]
		}
		q.items, q.head = items, 0
	}
	q.items[(q.head+q.size)%len(q.items)] = r
	q.size++
	if r.unsafe {
		q.unsafe++
	}
	q.local += len(r.local)
}

// popDone pops the head request, whose reply is complete, and reports its
// time upstream to the tenant's observer when it was stamped (forwardUnsafe).
func (in *inspector) popDone() {
	if f := in.q.front(); f != nil && !f.sent.IsZero() && in.obs != nil {
		in.obs.Command(time.Since(f.sent))
	}
	in.q.pop()
}

func (q *queue) front() *request {
	if q.size == 0 {
		return nil
	}
	return &q.items[q.head]
}

func (q *queue) pop() {
	f := &q.items[q.head]
	if f.unsafe {
		q.unsafe--
	}
	q.local -= len(f.local)
	*f = request{}
	q.head = (q.head + 1) % len(q.items)
	q.size--
	if q.size == 0 && len(q.items) > maxIdleQueue {
		// A burst of pipelined commands grew the ring: do not keep it.
		q.items, q.head = nil, 0
	}
}

// maxIdleQueue is the largest ring an idle session keeps.
const maxIdleQueue = 64
