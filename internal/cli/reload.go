package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// reloader re-reads the configuration on SIGHUP and when the file changes
// (polled every second, so a revocation takes effect within about a
// second without any extra dependency). A bad new file leaves the running
// configuration in place.
type reloader struct {
	path   string
	srv    *proxy.Server
	log    *slog.Logger
	creds  *credsFactory
	listen []config.Listener
	stamp  fileStamp
	snap   *snapshotInfo // nil in tests that build a reloader by hand
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.ModTime(), fi.Size()}
}

func (r *reloader) run(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	r.stamp = stampOf(r.path)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload("SIGHUP")
		case <-tick.C:
			if s := stampOf(r.path); s != r.stamp && s != (fileStamp{}) {
				r.reload("file changed")
			}
		}
	}
}

func (r *reloader) reload(why string) {
	r.stamp = stampOf(r.path)
	cfg, err := config.Load(r.path)
	if err != nil {
		r.log.Error("reload refused, keeping the running configuration", "why", why, "err", err)
		return
	}
	dir, err := tenant.Build(cfg, r.creds.get, time.Now)
	if err != nil {
		r.log.Error("reload refused, keeping the running configuration", "why", why, "err", err)
		return
	}
	if !reflect.DeepEqual(cfg.Listen, r.listen) {
		r.log.Warn("listener changes take effect at the next restart")
	}
	closed := r.srv.Reload(dir, cfg.Limits)
	if r.snap != nil {
		r.snap.applied(cfg)
	}
	r.log.Info("configuration reloaded", "why", why, "tenants", len(cfg.Tenants), "sessions_closed", closed)
}
