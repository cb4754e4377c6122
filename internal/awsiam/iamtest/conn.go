package iamtest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// frontConn is one client connection to the Front.
type frontConn struct {
	f       *Front
	client  net.Conn
	backend atomic.Pointer[net.Conn] // set at login
	// lastAuth is when the connection last logged in; nil before login.
	lastAuth atomic.Pointer[time.Time]
	closed   atomic.Bool
}

// serve answers commands itself until the first good login, then forwards
// every command (AUTH rewritten, see the ordering note in front.go) while
// a second goroutine copies the backend's replies back untouched.
func (c *frontConn) serve() {
	defer c.f.wg.Done()
	defer c.close()
	r := bufio.NewReader(c.client)
	var backend net.Conn
	for {
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		loggedIn := c.lastAuth.Load() != nil
		if bytes.EqualFold(cmd.args[0], []byte("AUTH")) && len(cmd.args) == 2 {
			// AUTH <password> logs in as "default", as in redis-server.
			cmd.args = [][]byte{cmd.args[0], []byte("default"), cmd.args[1]}
		}
		at, isAuth := authArgs(cmd.args)
		if isAuth {
			ok := c.f.verify(cmd.args[at], cmd.args[at+1], loggedIn)
			if !ok && !loggedIn {
				if !c.reply(replyWrongPass) {
					return
				}
				continue
			}
			cmd.raw = rewriteAuth(cmd.args, at, ok)
			if ok {
				now := c.f.clock()
				if !loggedIn {
					if backend = c.login(); backend == nil {
						return
					}
				}
				c.lastAuth.Store(&now)
			}
		} else if !loggedIn {
			if !c.reply(preLoginReply(cmd.args)) {
				return
			}
			if bytes.EqualFold(cmd.args[0], []byte("QUIT")) {
				return
			}
			continue
		}
		if _, err := backend.Write(cmd.raw); err != nil {
			return
		}
	}
}

// preLoginReply is what ElastiCache answers before a login.
func preLoginReply(args [][]byte) string {
	switch {
	case bytes.EqualFold(args[0], []byte("QUIT")):
		return "+OK\r\n"
	case bytes.EqualFold(args[0], []byte("AUTH")):
		return replyAuthArity // "AUTH token" and "AUTH user token" were handled above
	case bytes.EqualFold(args[0], []byte("HELLO")):
		return replyHelloNoAuth
	}
	return replyNoAuth
}

// rewriteAuth replaces the user and token (args[at], args[at+1]) with a pair
// the backend accepts (ok) or refuses with WRONGPASS.
func rewriteAuth(args [][]byte, at int, ok bool) []byte {
	out := make([][]byte, len(args))
	copy(out, args)
	out[at], out[at+1] = []byte(badUser), []byte(anyPass)
	if ok {
		out[at] = []byte(goodUser)
	}
	return appendCommand(nil, out...)
}

// login dials the backend and starts copying its replies to the client. It
// returns nil if that failed.
func (c *frontConn) login() net.Conn {
	b, err := net.DialTimeout("tcp", c.f.backend, 5*time.Second)
	if err != nil {
		c.reply(replyNoBackend)
		return nil
	}
	c.backend.Store(&b)
	if c.closed.Load() { // closed while dialing: closeConns may have missed b
		_ = b.Close()
		return nil
	}
	c.f.wg.Add(1)
	go func() {
		defer c.f.wg.Done()
		defer c.close()
		_, _ = io.Copy(c.client, b)
	}()
	return b
}

func (c *frontConn) reply(s string) bool {
	_, err := io.WriteString(c.client, s)
	return err == nil
}

// close ends the connection and forgets it.
func (c *frontConn) close() {
	c.shut()
	c.f.mu.Lock()
	delete(c.f.conns, c)
	c.f.mu.Unlock()
}

// shut marks the connection closed and closes both sockets, which ends
// both of its goroutines. It takes no lock, so callers may hold f.mu.
func (c *frontConn) shut() {
	c.closed.Store(true)
	c.closeConns()
}

func (c *frontConn) closeConns() {
	_ = c.client.Close()
	if b := c.backend.Load(); b != nil {
		_ = (*b).Close()
	}
}
