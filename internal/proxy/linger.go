package proxy

import (
	"crypto/tls"
	"net"
	"os"
	"sync"
	"time"
)

// A session's last bytes to its client (QUIT's +OK, a final error, the
// upstream's own last error in pass-through) are lost if the client's
// socket is closed while bytes the client sent are still unread: the
// kernel then answers with a reset, and the client's kernel drops what it
// had received but not yet handed to the client. So the client's side
// ends with a lingering close, as HAProxy and nginx do: shut down writing
// (the client sees the end after the last bytes), read and discard what
// the client still sends for a short while or until it closes, then close.

const (
	lingerTime     = 2 * time.Second // longest a closing socket is drained
	lingerMaxBytes = 64 << 20        // most bytes drained from it
)

var lingerBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// lingerClose ends a client connection with a lingering close. It may
// take up to lingerTime: call it on a goroutine of its own.
func lingerClose(c net.Conn) {
	defer c.Close()
	switch cw := c.(type) {
	case *net.TCPConn:
		if cw.CloseWrite() != nil {
			return
		}
	case *tls.Conn:
		if cw.CloseWrite() != nil {
			return
		}
	default:
		return
	}
	if c.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	bp := lingerBufs.Get().(*[]byte)
	defer lingerBufs.Put(bp)
	for drained := 0; drained < lingerMaxBytes; {
		n, err := c.Read(*bp)
		drained += n
		if err != nil {
			return
		}
	}
}

// lingerFD ends an event loop's client socket the same way. The loop no
// longer watches fd; the descriptor becomes Go's (through a net.Conn) and
// is closed by lingerClose.
func lingerFD(fd int) {
	f := os.NewFile(uintptr(fd), "client")
	c, err := net.FileConn(f) // a copy of the descriptor, in Go's netpoller
	f.Close()
	if err != nil {
		return
	}
	lingerClose(c)
}
