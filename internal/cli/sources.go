package cli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

type openerKey struct{}

// WithSources hands serve the opener of the watched sources (Kubernetes
// Secrets, etcd). The binary passes the real one (package
// source/open); without it, a configuration that names such a source is
// refused. It rides on the context so that the CLI's entry point keeps its
// signature and packages that import the CLI (the e2e tests) do not
// compile client-go and the etcd client.
func WithSources(ctx context.Context, open view.Opener) context.Context {
	return context.WithValue(ctx, openerKey{}, open)
}

// openSources starts the watched sources cfg names.
func openSources(ctx context.Context, cfg *config.Config, log *slog.Logger) (*view.Opened, error) {
	if cfg.Sources.Etcd == nil && cfg.Sources.Kubernetes == nil {
		return &view.Opened{Ready: func() error { return nil }, Close: func() {}}, nil
	}
	open, _ := ctx.Value(openerKey{}).(view.Opener)
	if open == nil {
		return nil, errors.New("sources: this build of redoubt has no Kubernetes or etcd support")
	}
	return open(ctx, cfg, log)
}
