package proxy

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// The session logger must write exactly what srv.log.With(conn, client,
// tenant) wrote, in text and JSON, also through With and WithGroup.
func TestSessionLoggerMatchesWith(t *testing.T) {
	noTime := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	for _, format := range []string{"text", "json"} {
		for _, withTenant := range []bool{false, true} {
			newHandler := func(b *bytes.Buffer) slog.Handler {
				if format == "json" {
					return slog.NewJSONHandler(b, noTime)
				}
				return slog.NewTextHandler(b, noTime)
			}
			var got, want bytes.Buffer
			sess := &Session{ID: 42, ClientAddr: "127.0.0.1:5000"}
			attrs := []any{"conn", sess.ID, "client", sess.ClientAddr}
			if withTenant {
				sess.identity.Store(&tenant.Identity{Tenant: "alice"})
				attrs = append(attrs, "tenant", "alice")
			}
			cn := &conn{srv: &Server{log: slog.New(newHandler(&got))}, sess: sess}
			ref := slog.New(newHandler(&want)).With(attrs...)
			for _, l := range []*slog.Logger{cn.logger(), ref} {
				l.Info("disconnect", "duration", time.Second, "bytes_in", int64(7))
				l.Debug("connected", "upstream", "own")
				l.With("k", "v").Warn("upstream unavailable", "err", "x")
				l.WithGroup("g").Error("relay panic", "panic", "p")
			}
			if want.Len() == 0 || got.String() != want.String() {
				t.Fatalf("%s, tenant %v:\ngot  %s\nwant %s", format, withTenant, got.String(), want.String())
			}
		}
	}
}

// countingHandler counts WithAttrs calls: a line below the level must not
// format the session's attributes.
type countingHandler struct {
	slog.Handler
	withAttrs *int
}

func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	*h.withAttrs++
	return countingHandler{h.Handler.WithAttrs(as), h.withAttrs}
}

func TestSessionLoggerBelowLevelFormatsNothing(t *testing.T) {
	var n int
	var buf bytes.Buffer
	h := countingHandler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), &n}
	cn := &conn{srv: &Server{log: slog.New(h)}, sess: &Session{ID: 1, ClientAddr: "x"}}
	cn.logger().Info("disconnect", "bytes_in", 1)
	cn.logger().Debug("connected")
	if n != 0 || buf.Len() != 0 {
		t.Fatalf("WithAttrs called %d times, wrote %q", n, buf.String())
	}
	cn.logger().Warn("upstream unavailable")
	if n != 1 || buf.Len() == 0 {
		t.Fatalf("WithAttrs called %d times, wrote %q", n, buf.String())
	}
}

func TestAuditLine(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		var buf bytes.Buffer
		srv := &Server{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))}
		srv.audit(&Session{ID: 42, ClientAddr: "127.0.0.1:5000"}, "auth_ok", "tenant", "alice", "method", "secret")
		want := "msg=auth_ok audit=true conn=42 client=127.0.0.1:5000 tenant=alice method=secret\n"
		if level == slog.LevelWarn {
			want = ""
		}
		if got := buf.String(); !strings.HasSuffix(got, want) || (want == "") != (got == "") {
			t.Fatalf("level %v: got %q, want ...%q", level, got, want)
		}
	}
}
