package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/admin"
	"github.com/redoubt-proxy/redoubt/internal/certload"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

func newServeCmd(stderr io.Writer) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the gateway",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), path, stderr)
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (YAML)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func serve(ctx context.Context, path string, stderr io.Writer) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	creds := newCredsFactory(ctx, log)
	dir, err := tenant.Build(cfg, creds.get, time.Now)
	if err != nil {
		return runtimeErr(fmt.Errorf("%s: %w", path, err))
	}
	specs, certs, err := listenerSpecs(cfg)
	if err != nil {
		return configErr(err)
	}
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	srv := proxy.New(proxy.Options{Logger: log, Directory: dir, Limits: cfg.Limits})
	if err := srv.Listen(specs); err != nil {
		return runtimeErr(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if cfg.Admin.Address != "" {
		a, err := admin.Start(cfg.Admin.Address, srv, log, admin.Options{Pprof: cfg.Admin.Pprof})
		if err != nil {
			return runtimeErr(err)
		}
		defer a.Close()
		log.Info("admin listening", "address", a.Addr())
	}
	r := &reloader{path: path, srv: srv, log: log, creds: creds, listen: cfg.Listen, limits: cfg.Limits, certs: certs}
	go r.run(ctx)
	log.Info("redoubt serving", "version", Version, "listeners", srv.Addrs(), "tenants", len(cfg.Tenants))
	return srv.Serve(ctx)
}

// listenerSpecs builds the client-facing listeners, with TLS and mTLS
// served from files that are re-read when they change (see reloader).
func listenerSpecs(cfg *config.Config) ([]proxy.Listener, []*certload.Listener, error) {
	var out []proxy.Listener
	certs := make([]*certload.Listener, len(cfg.Listen)) // nil for plain TCP
	for i, l := range cfg.Listen {
		spec := proxy.Listener{Address: l.Address}
		if l.TLS != nil {
			cl, err := certload.Load(*l.TLS)
			if err != nil {
				return nil, nil, fmt.Errorf("listen[%d].tls: %w", i, err)
			}
			spec.TLS, certs[i] = cl.TLSConfig(), cl
		}
		out = append(out, spec)
	}
	return out, certs, nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
