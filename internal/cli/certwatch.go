package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/certload"
	"github.com/redoubt-proxy/redoubt/internal/config"
)

// watchCerts re-reads the listeners' certificates, keys and client CAs
// when those files change (polled every second) or on SIGHUP; a bad new
// file leaves the old one serving (ghostunnel's certloader model).
func watchCerts(ctx context.Context, log *slog.Logger, certs []*certload.Listener) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
		}
		for i, c := range certs {
			if c == nil {
				continue
			}
			changed, err := c.Reload()
			switch {
			case err != nil:
				log.Error("listener certificate reload refused, keeping the one in service", "listener", i, "err", err)
			case changed:
				log.Info("listener certificate reloaded", "listener", i)
			}
		}
	}
}

// startOnlyLimitsChanged names the limits that are read once at start
// (the relay buffer pool and the event loops are built then) and differ
// between a and b. Every other limit
// applies to new sessions from the next reload on.
func startOnlyLimitsChanged(a, b config.Limits) []string {
	var out []string
	if a.PassthroughBufSize != b.PassthroughBufSize {
		out = append(out, "passthrough_buf_size")
	}
	if a.EventLoops != b.EventLoops {
		out = append(out, "event_loops")
	}
	return out
}
