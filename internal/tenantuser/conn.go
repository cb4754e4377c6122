package tenantuser

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/resp"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// adminConn is a connection logged in with an upstream's own login, for
// the few ACL commands redoubt sends itself.
type adminConn struct {
	c   *upstream.Conn
	buf []byte
}

func dialAdmin(ctx context.Context, t *upstream.Target) (*adminConn, error) {
	c, err := upstream.Dial(ctx, t, upstream.LoginOptions{})
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	return &adminConn{c: c, buf: append([]byte(nil), c.Rest...)}, nil
}

func (a *adminConn) Close() error { return a.c.Close() }

// do sends one command and returns its reply; an error reply is returned
// as a value, not an error. The request may hold a password: it is
// cleared after the write.
func (a *adminConn) do(args ...string) (resp.Value, error) {
	req := resp.AppendCommand(nil, args...)
	_, err := a.c.Write(req)
	clear(req)
	if err != nil {
		return resp.Value{}, fmt.Errorf("send %s: %w", args[0], err)
	}
	lim := resp.DefaultLimits()
	for {
		v, n, err := resp.ParseValue(a.buf, &lim)
		if err == nil {
			v = cloneValue(v)
			a.buf = append(a.buf[:0], a.buf[n:]...)
			return v, nil
		}
		if !errors.Is(err, resp.ErrIncomplete) {
			return resp.Value{}, fmt.Errorf("reply to %s: %w", args[0], err)
		}
		tmp := make([]byte, 4096)
		m, err := a.c.Read(tmp)
		a.buf = append(a.buf, tmp[:m]...)
		if err != nil {
			return resp.Value{}, fmt.Errorf("reply to %s: %w", args[0], err)
		}
	}
}

// cloneValue copies v out of the read buffer, which the next read reuses.
func cloneValue(v resp.Value) resp.Value {
	v.Str = append([]byte(nil), v.Str...)
	if v.Elems != nil {
		e := make([]resp.Value, len(v.Elems))
		for i := range v.Elems {
			e[i] = cloneValue(v.Elems[i])
		}
		v.Elems = e
	}
	return v
}

// isError reports an error reply.
func isError(v resp.Value) bool { return v.Type == resp.TypeError || v.Type == '!' }
