package admin

import (
	"net"
	"sync"
	"time"
)

// The admin endpoint shares the process's descriptors with the proxy,
// whose connection limits are derived from them. Its health and metrics
// routes answer anyone who reaches the port, so without bounds a client
// could open keep-alive connections until the proxy has no descriptor
// left for logins or upstream dials. So it holds at most adminMaxConns
// connections (more wait in the kernel's backlog, holding no descriptor
// of ours) and drops a connection idle for adminIdleTimeout.
const (
	adminMaxConns    = 64
	adminIdleTimeout = 60 * time.Second
	adminReadTimeout = 30 * time.Second
)

// limitListener accepts a connection only while fewer than n of its
// connections are open.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
