package admin

import (
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// failLog records refused admin credentials: someone guessing the token
// must leave a trace. At most one line a second is written, with the
// number of refusals since the last line, so a flood of guesses cannot
// flood the log. Requests without any credential are not logged (a
// browser or a probe hitting /v1/); they still get 401.
type failLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	last time.Time
	n    int
}

func (f *failLog) refused(r *http.Request) {
	if f == nil || f.log == nil {
		return
	}
	if r.Header.Get("Authorization") == "" && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
		return
	}
	f.mu.Lock()
	f.n++
	now := time.Now()
	if now.Sub(f.last) < time.Second {
		f.mu.Unlock()
		return
	}
	n := f.n
	f.last, f.n = now, 0
	f.mu.Unlock()
	// Never the presented token: only where it came from.
	f.log.Warn("admin authentication failed", "audit", true, "remote", r.RemoteAddr,
		"method", r.Method, "path", r.URL.Path, "refusals", n)
}
