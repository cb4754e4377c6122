package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/admin"
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
	specs, err := listenerSpecs(cfg)
	if err != nil {
		return configErr(err)
	}
	ops, err := newOpsSetup(cfg, log)
	if err != nil {
		return runtimeErr(err)
	}
	if ops.audit != nil {
		defer ops.audit.Close()
	}
	srv := proxy.New(ops.proxyOptions(proxy.Options{Logger: log, Directory: dir, Limits: cfg.Limits}))
	if err := srv.Listen(specs); err != nil {
		return runtimeErr(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if cfg.Admin.Address != "" {
		a, err := admin.Start(cfg.Admin.Address, srv, log, ops.adminOptions(cfg, specs))
		if err != nil {
			return runtimeErr(err)
		}
		defer a.Close()
		a.SetStarted() // listeners are bound and the snapshot is built
		log.Info("admin listening", "address", a.Addr())
	}
	r := &reloader{path: path, srv: srv, log: log, creds: creds, listen: cfg.Listen, snap: ops.snap}
	go r.run(ctx)
	log.Info("redoubt serving", "version", Version, "listeners", srv.Addrs(), "tenants", len(cfg.Tenants))
	return srv.Serve(ctx)
}

// listenerSpecs builds the client-facing listeners, with TLS and mTLS.
func listenerSpecs(cfg *config.Config) ([]proxy.Listener, error) {
	var out []proxy.Listener
	for i, l := range cfg.Listen {
		spec := proxy.Listener{Address: l.Address}
		if l.TLS != nil {
			cert, err := tls.LoadX509KeyPair(l.TLS.CertFile, l.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("listen[%d].tls: %w", i, err)
			}
			tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
			if l.TLS.ClientCAFile != "" {
				pool, err := config.LoadCertPool(l.TLS.ClientCAFile)
				if err != nil {
					return nil, fmt.Errorf("listen[%d].tls.client_ca_file: %w", i, err)
				}
				// A certificate, when given, must verify and names the
				// tenant; clients without one log in with AUTH as usual.
				tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
			}
			spec.TLS = tc
		}
		out = append(out, spec)
	}
	return out, nil
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
