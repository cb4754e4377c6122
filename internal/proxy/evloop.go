package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Sessions with plain TCP on both sides, pass-through and inspected, run
// on a few epoll event loops, the way HAProxy and twemproxy run, rather
// than on two goroutines each parked in Go's netpoller. Both reasons were
// measured (docs/benchmarks.md):
//
//   - An idle session costs its two sockets and one small struct: no
//     goroutine stacks, no buffers. The loop's read buffer is shared by
//     every session on it, because a read is written out before the next
//     read; only bytes a slow socket could not take are kept, per session.
//   - A request costs one read and one write per direction. A reader parked
//     in Go's netpoller is not told that the peer closed, so it must read
//     until EAGAIN before it parks (a FIN that came with the last bytes
//     would go unseen); here epoll reports EPOLLRDHUP with the event, so a
//     short read means the socket is drained and we wait for the next edge.
//
// The loops are process-wide, like Go's own netpoller: every Server in the
// process shares them, and they live as long as the process.

// loopEvents is how many events one epoll_wait may return.
const loopEvents = 256

// evLoop is one event loop: an epoll set, a goroutine waiting on it and
// the read buffer its sessions share.
type evLoop struct {
	epfd   int
	buf    []byte
	events [loopEvents]unix.EpollEvent
	cur    *relayPair // the pair being served, so a panic can end just that one
}

// LoopSessions is how many sessions run on the event loops now (the rest,
// TLS ones, run on goroutines), for metrics and tests.
var LoopSessions atomic.Int64

var (
	loopsOnce sync.Once
	loops     []*evLoop
	loopsErr  error
	nextLoop  atomic.Uint32
	pairGen   atomic.Uint32
)

// loopCount is how many event loops to run: limits.event_loops, or by
// default half of GOMAXPROCS, at least one. Measured on 2 cores shared
// with redis-server and the client: one loop beat two by 10-20% CPU per
// command, because the kernel's TCP work, not the loops, needs the cores.
func loopCount(want int) int {
	if want > 0 {
		return want
	}
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// pickLoop starts the loops on first use and returns the next one, round
// robin. An error means epoll is unavailable: callers fall back to the
// goroutine relay. The loops are process-wide: the first caller's count
// wins.
func pickLoop(want int) (*evLoop, error) {
	loopsOnce.Do(func() {
		for range loopCount(want) {
			fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
			if err != nil {
				loopsErr = fmt.Errorf("epoll_create1: %w", err)
				return
			}
			l := &evLoop{epfd: fd}
			loops = append(loops, l)
			go l.run()
		}
	})
	if loopsErr != nil {
		return nil, loopsErr
	}
	return loops[nextLoop.Add(1)%uint32(len(loops))], nil
}

// run waits for events for ever. A panic while serving one pair ends that
// pair (logged and counted as a panic) and the loop goes on.
func (l *evLoop) run() {
	for !l.serve() {
	}
}

// serve returns false after recovering from a panic, true never.
func (l *evLoop) serve() (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p := l.cur
			l.cur = nil
			if p == nil {
				slog.Error("event loop panic", "panic", fmt.Sprint(r))
				return
			}
			p.cn.srv.metrics.panics.Add(1)
			p.cn.logger().Error("relay panic", "panic", fmt.Sprint(r))
			l.finish(p, fmt.Errorf("panic: %v", r))
		}
	}()
	for {
		// Under load events are usually pending already: take them without
		// a trip through the scheduler, and block only when there are none.
		n, errno := pollNow(l.epfd, l.events[:])
		var err error
		if errno != 0 {
			err = errno
		} else if n == 0 {
			n, err = unix.EpollWait(l.epfd, l.events[:], -1)
		}
		if err != nil {
			if !errors.Is(err, unix.EINTR) {
				// Only a broken epoll descriptor gets here, which nothing
				// in the process does; say so, without spinning.
				slog.Error("event loop: epoll_wait", "err", err)
				time.Sleep(time.Second)
			}
			continue
		}
		for i := range n {
			l.dispatch(&l.events[i])
		}
	}
}

// dispatch records what an event says about its socket and moves the
// pair's bytes. Events from an earlier batch can name a socket that has
// since been closed, and its number reused by a new session, possibly on
// another loop: the generation stamped into the event tells them apart.
func (l *evLoop) dispatch(ev *unix.EpollEvent) {
	ep := sockets.get(int(ev.Fd))
	if ep == nil || ep.gen != uint32(ev.Pad) || ep.pair.loop != l {
		return
	}
	p := ep.pair
	if p.finished {
		return
	}
	f := ev.Events
	if f&unix.EPOLLERR != 0 {
		l.cur = p
		err := socketError(ep.fd)
		if li := p.insp; li != nil && ep == &p.up && !li.ending {
			// As on any upstream loss: the client hears what was pending.
			done, endErr := li.end(p, li.upstreamGone(err))
			if !done {
				l.cur = nil
				return
			}
			err = endErr
		}
		l.finish(p, err)
		l.cur = nil
		return
	}
	if f&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		ep.readable = true
	}
	if f&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		ep.rdhup = true
	}
	if f&(unix.EPOLLOUT|unix.EPOLLHUP) != 0 {
		ep.writable = true
	}
	l.serveOne(p)
}

// serveOne moves a pair's bytes and ends it when it is done.
func (l *evLoop) serveOne(p *relayPair) {
	l.cur = p
	var done bool
	var err error
	if p.insp != nil {
		done, err = l.stepInspect(p)
	} else {
		err = l.step(p)
		// The upstream's last bytes (a final error before it closed)
		// go out before the session ends; drainTimeout bounds the wait.
		done = p.up.eof && !p.client.owed()
		if p.up.eof && !done && p.drain == nil {
			p.drain = time.AfterFunc(drainTimeout, p.kill)
		}
	}
	if err != nil || done {
		l.finish(p, err)
	}
	l.cur = nil
}

// add registers both sockets of a pair. Once it returns the loop owns the
// pair; on error nothing was registered and the caller still owns it.
func (l *evLoop) add(p *relayPair) error {
	if !sockets.set(p.client.fd, &p.client) || !sockets.set(p.up.fd, &p.up) {
		sockets.set(p.client.fd, nil)
		sockets.set(p.up.fd, nil)
		return errors.New("descriptor number beyond the event loop's table")
	}
	// The upstream goes first: if the client's registration then fails, a
	// kill still reaches the loop through the upstream socket.
	if err := l.register(&p.up); err != nil {
		sockets.set(p.client.fd, nil)
		sockets.set(p.up.fd, nil)
		return err
	}
	LoopSessions.Add(1) // the loop's finish takes it back
	if err := l.register(&p.client); err != nil {
		p.kill()
		return nil // the loop ends the pair through the upstream's events
	}
	return nil
}

// register adds one socket, edge-triggered, for reads, writes and the
// peer's close.
func (l *evLoop) register(ep *endpoint) error {
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(ep.fd),
		Pad:    int32(ep.gen),
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ep.fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

func socketError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("socket error: %w", err)
	}
	if v == 0 {
		return errors.New("socket error")
	}
	return unix.Errno(v)
}
