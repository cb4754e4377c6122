package proxy

import (
	"context"
	"log/slog"
)

// sessionHandler is what cn.logger() returns instead of srv.log.With(conn,
// client, tenant): the same records with the same attributes, but the
// attributes are handed to the base handler (which formats them) only when
// a record is actually written. Most session lines (connected, disconnect)
// are below the configured level under load, and With formatted the
// attributes for every one of them.
type sessionHandler struct {
	base      slog.Handler
	id        uint64
	client    string
	tenant    string
	hasTenant bool
}

func (h *sessionHandler) attrs() []slog.Attr {
	a := []slog.Attr{slog.Uint64("conn", h.id), slog.String("client", h.client)}
	if h.hasTenant {
		a = append(a, slog.String("tenant", h.tenant))
	}
	return a
}

// with is the handler srv.log.With(conn, client, tenant) would have had.
func (h *sessionHandler) with() slog.Handler { return h.base.WithAttrs(h.attrs()) }

func (h *sessionHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.base.Enabled(ctx, l)
}

func (h *sessionHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.with().Handle(ctx, r)
}

func (h *sessionHandler) WithAttrs(as []slog.Attr) slog.Handler { return h.with().WithAttrs(as) }

func (h *sessionHandler) WithGroup(name string) slog.Handler { return h.with().WithGroup(name) }
