package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/redoubt-proxy/redoubt/internal/admin"
	"github.com/redoubt-proxy/redoubt/internal/certload"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
	"github.com/redoubt-proxy/redoubt/internal/store"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
	"github.com/redoubt-proxy/redoubt/internal/tenantuser"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
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
	specs, certs, err := listenerSpecs(cfg)
	if err != nil {
		return configErr(err)
	}
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	file := controlplane.NewFile(path, cfg)
	sources := []model.Source{file}
	var st model.Store
	if cfg.Store.Path != "" {
		b, err := store.Open(cfg.Store.Path)
		if err != nil {
			return configErr(err)
		}
		defer b.Close()
		sources, st = append(sources, b), b
	}
	brk, err := openBroker(cfg, log)
	if err != nil {
		return configErr(err)
	}
	if brk != nil {
		defer brk.Close()
		sources = append(sources, brk.Source())
	}
	ops, err := newOpsSetup(cfg, log)
	if err != nil {
		return runtimeErr(err)
	}
	if ops.audit != nil {
		defer ops.audit.Close()
	}
	srv := proxy.New(ops.proxyOptions(proxy.Options{Logger: log, Directory: tenant.NewDirectory(nil, nil), Limits: cfg.Limits}))
	users := tenantuser.New(log) // managed per-tenant upstream users
	plane := controlplane.New(controlplane.Options{
		Sources: sources,
		Store:   st,
		Creds:   controlplane.NewAWSCreds(ctx, log).Get,
		Managed: users.Credentials,
		Log:     log,
		Apply: func(s *controlplane.State) int {
			// Only a snapshot that built changes the managed users, with
			// every source's tenants, before the gateway uses it.
			users.Sync(ctx, s.Snapshot, func(name string, _ model.Upstream) (*upstream.Target, error) {
				if t, ok := s.Directory.Target(name); ok {
					return t, nil
				}
				return nil, fmt.Errorf("upstream %s not built", name)
			})
			fc := file.Config()
			if !reflect.DeepEqual(fc.Listen, cfg.Listen) {
				log.Warn("listener changes take effect at the next restart")
			}
			for _, key := range startOnlyLimitsChanged(cfg.Limits, fc.Limits) {
				log.Warn("limits." + key + " changed; it takes effect at the next restart")
			}
			return srv.Swap(s.Directory, fc.Limits)
		},
		Sweep: func(s *controlplane.State) int {
			return srv.Registry().CloseEach(func(id *tenant.Identity) (bool, string) {
				if ok, why := s.Directory.Check(id); !ok && why == "expired" {
					return false, why
				}
				return true, ""
			})
		},
	})
	if _, err := plane.Load(ctx); err != nil {
		return runtimeErr(fmt.Errorf("%s: %w", path, err))
	}
	if err := srv.Listen(specs); err != nil {
		return runtimeErr(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if cfg.Admin.Address != "" {
		atls, err := adminTLS(cfg.Admin)
		if err != nil {
			return configErr(err)
		}
		ao := ops.adminOptions(cfg, specs, certs)
		ao.Plane, ao.Auth, ao.TLS = plane, adminAuth(cfg.Admin), atls
		a, err := admin.Start(cfg.Admin.Address, srv, log, ao)
		if err != nil {
			return runtimeErr(err)
		}
		defer a.Close()
		a.SetStarted() // listeners are bound and the snapshot is built
		log.Info("admin listening", "address", a.Addr())
	}
	if brk != nil {
		brk.Attach(plane)
		bs, err := listenBroker(brk, cfg.Broker)
		if err != nil {
			return runtimeErr(err)
		}
		defer bs.Close()
		log.Info("service broker listening", "address", bs.Addr())
	}
	go plane.Run(ctx)
	go watchCerts(ctx, log, certs)
	log.Info("redoubt serving", "version", Version, "listeners", srv.Addrs(), "tenants", len(plane.Current().Snapshot.Tenants))
	return srv.Serve(ctx)
}

// listenerSpecs builds the client-facing listeners, with TLS and mTLS
// served from files that are re-read when they change (see watchCerts).
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
