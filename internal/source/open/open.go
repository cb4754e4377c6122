// Package open starts the watched credential sources (Kubernetes Secrets,
// etcd) that a configuration names. The binary hands New's opener to the
// CLI; packages that import the CLI without it never compile client-go or
// the etcd client.
package open

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/source/etcd"
	"github.com/redoubt-proxy/redoubt/internal/source/kubernetes"
	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

// Options are for tests; the binary uses the zero value.
type Options struct {
	// KubeClient replaces the client built from the configuration (tests
	// use client-go's fake clientset: no API server runs there).
	KubeClient kubernetes.Client
	// Wait bounds how long a source may take to list at start (default 15s).
	Wait time.Duration
}

// New returns the opener the CLI calls at start.
func New(o Options) view.Opener {
	if o.Wait <= 0 {
		o.Wait = 15 * time.Second
	}
	return func(ctx context.Context, cfg *config.Config, log *slog.Logger) (*view.Opened, error) {
		return openSources(ctx, o, cfg, log)
	}
}

func openSources(ctx context.Context, o Options, cfg *config.Config, log *slog.Logger) (_ *view.Opened, err error) {
	ctx, cancel := context.WithCancel(ctx)
	out := &view.Opened{Ready: func() error { return nil }}
	var closers []func()
	out.Close = func() {
		cancel()
		for _, c := range closers {
			c()
		}
	}
	defer func() {
		if err != nil {
			out.Close()
		}
	}()
	var stats []*view.Stats
	if ec := cfg.Sources.Etcd; ec != nil {
		cli, err := etcd.NewClient(*ec)
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { cli.Close() })
		src := etcd.New(etcd.Options{Config: *ec, Client: cli, Logger: log})
		if !src.Start(ctx, o.Wait) {
			return nil, fmt.Errorf("sources.etcd: no answer from %v within %s", ec.Endpoints, o.Wait)
		}
		out.Sources = append(out.Sources, model.Source(src))
		stats = append(stats, src.Stats())
		out.Ready = func() error {
			if src.Stale() {
				return errors.New("source etcd is stale (out of reach for longer than sources.etcd.stale_after)")
			}
			return nil
		}
		if cfg.Store.Etcd {
			b := etcd.NewBackend(src)
			out.Store = b
			out.Sources[len(out.Sources)-1] = b
		}
	}
	if kc := cfg.Sources.Kubernetes; kc != nil {
		src, err := kubernetes.New(kubernetes.Options{Config: *kc, Client: o.KubeClient, Logger: log})
		if err != nil {
			return nil, err
		}
		if !src.Start(ctx, o.Wait) {
			return nil, fmt.Errorf("sources.kubernetes: Secrets not listed within %s (API server unreachable, or RBAC refuses list/watch on secrets?)", o.Wait)
		}
		out.Sources = append(out.Sources, model.Source(src))
		stats = append(stats, src.Stats())
	}
	if len(stats) > 0 {
		out.Collectors = []prometheus.Collector{view.Collector(stats...)}
	}
	return out, nil
}
