package view

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Opened are the watched sources a configuration names, running.
type Opened struct {
	// Sources in precedence order (etcd before Kubernetes); they come
	// after the file and the embedded store.
	Sources []model.Source
	// Store is etcd as the admin API's store (store: {etcd: true}), also
	// one of Sources; nil otherwise.
	Store model.Store
	// Collectors export the sources' figures.
	Collectors []prometheus.Collector
	// Ready reports a source that /readyz should count as not ready (etcd
	// out of reach for longer than stale_after); nil error = ready.
	Ready func() error
	// Close stops the sources.
	Close func()
}

// Opener starts the sources cfg names (none: an empty Opened). It is a
// function handed to the CLI so that only the binary, not every package
// that imports the CLI, compiles client-go and the etcd client.
type Opener func(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Opened, error)
