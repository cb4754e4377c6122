package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
)

// File is the configuration file as a source. It reloads on SIGHUP and
// when the file changes (polled every second, so a revocation written to
// the file takes effect within about a second without any extra
// dependency). A file that no longer loads or validates is an error from
// Load: the control plane keeps the last good view (caddy's rollback).
type File struct {
	path   string
	notify model.Notify
	// Poll is how often the file's size and time are checked (default 1s).
	Poll time.Duration

	mu      sync.Mutex
	cfg     *config.Config // the last good configuration
	initial bool           // cfg was loaded by the caller and not yet returned
}

var (
	_ model.Source = (*File)(nil)
	_ model.Runner = (*File)(nil)
)

// NewFile makes the file source; cfg, when not nil, is the configuration
// already loaded from path at start (Load then returns it once instead of
// reading the file again).
func NewFile(path string, cfg *config.Config) *File {
	return &File{path: path, notify: model.NewNotify(), cfg: cfg, initial: cfg != nil, Poll: time.Second}
}

// Name implements model.Source.
func (f *File) Name() string { return model.SourceFile }

// Changed implements model.Source.
func (f *File) Changed() <-chan struct{} { return f.notify }

// Config returns the last configuration that loaded (listeners, limits
// and log settings are the file's alone).
func (f *File) Config() *config.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Load implements model.Source: it reads and validates the file, the
// merged-view checks included (tenants sharing a DB...).
func (f *File) Load(context.Context) (model.Part, error) {
	f.mu.Lock()
	var cfg *config.Config
	if f.initial {
		cfg, f.initial = f.cfg, false
	}
	f.mu.Unlock()
	if cfg == nil {
		var err error
		if cfg, err = config.Load(f.path, ConfigHooks()); err != nil {
			return model.Part{}, err
		}
		if err := CheckFile(cfg); err != nil {
			return model.Part{}, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	f.mu.Lock()
	f.cfg = cfg
	f.mu.Unlock()
	return FilePart(cfg), nil
}

// Run implements model.Runner: SIGHUP or a changed file signals a reload.
func (f *File) Run(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stamp := stampOf(f.path)
	tick := time.NewTicker(f.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			stamp = stampOf(f.path)
			f.notify.Signal()
		case <-tick.C:
			if s := stampOf(f.path); s != stamp && s != (fileStamp{}) {
				stamp = s
				f.notify.Signal()
			}
		}
	}
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
