package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/certload"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// reloader re-reads the configuration on SIGHUP and when the file changes
// (polled every second, so a revocation takes effect within about a
// second without any extra dependency). A bad new file leaves the running
// configuration in place. It also re-reads the listeners' certificates,
// keys and client CAs when those files change; a bad new file leaves the
// old one serving.
type reloader struct {
	path   string
	srv    *proxy.Server
	log    *slog.Logger
	creds  *credsFactory
	listen []config.Listener
	limits config.Limits // as started: some are read once
	certs  []*certload.Listener
	stamp  fileStamp
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
			r.reloadCerts()
		case <-tick.C:
			if s := stampOf(r.path); s != r.stamp && s != (fileStamp{}) {
				r.reload("file changed")
			}
			r.reloadCerts()
		}
	}
}

func (r *reloader) reload(why string) {
	r.stamp = stampOf(r.path)
	cfg, err := config.Load(r.path, configHooks())
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
	for _, key := range startOnlyLimitsChanged(r.limits, cfg.Limits) {
		r.log.Warn("limits." + key + " changed; it takes effect at the next restart")
	}
	closed := r.srv.Reload(dir, cfg.Limits)
	r.log.Info("configuration reloaded", "why", why, "tenants", len(cfg.Tenants), "sessions_closed", closed)
}

// reloadCerts re-reads the listeners' TLS files that changed.
func (r *reloader) reloadCerts() {
	for i, c := range r.certs {
		if c == nil {
			continue
		}
		changed, err := c.Reload()
		switch {
		case err != nil:
			r.log.Error("listener certificate reload refused, keeping the one in service", "listener", i, "err", err)
		case changed:
			r.log.Info("listener certificate reloaded", "listener", i)
		}
	}
}

// startOnlyLimitsChanged names the limits that are read once at start
// (the failed-login throttle's table, the relay buffer pool and the event
// loops are built then) and differ between a and b. Every other limit
// applies to new sessions from the next reload on.
func startOnlyLimitsChanged(a, b config.Limits) []string {
	var out []string
	if a.AuthFailPerAddr != b.AuthFailPerAddr {
		out = append(out, "auth_fail_per_addr")
	}
	if a.AuthFailWindow != b.AuthFailWindow {
		out = append(out, "auth_fail_window")
	}
	if a.PassthroughBufSize != b.PassthroughBufSize {
		out = append(out, "passthrough_buf_size")
	}
	if a.EventLoops != b.EventLoops {
		out = append(out, "event_loops")
	}
	return out
}
