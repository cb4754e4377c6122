package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// idleResult is what N idle, logged-in connections through one target cost.
type idleResult struct {
	Target          string  `json:"target"`
	Wanted          int     `json:"wanted"`
	Opened          int     `json:"opened"`
	Errors          int     `json:"errors"`
	FirstErr        string  `json:"first_error,omitempty"`
	ProxyRSSBefore  int64   `json:"proxy_rss_before_kib"`
	ProxyRSSAfter   int64   `json:"proxy_rss_after_kib"`
	ProxyKiBPerConn float64 `json:"proxy_kib_per_conn"`
	RedisKiBPerConn float64 `json:"redis_kib_per_conn"`
	ProxyFdsBefore  int     `json:"proxy_fds_before"`
	ProxyFdsAfter   int     `json:"proxy_fds_after"`
	FdsPerConn      float64 `json:"proxy_fds_per_conn"`
	ProxyPipes      int     `json:"proxy_pipes"` // pipes opened for the idle connections (after − before)
	OpenSeconds     float64 `json:"open_seconds"`
	// redoubt only: the last GODEBUG=gctrace=1 line before the measurement
	// (live heap, heap goal and scanned stack sizes at that collection).
	LastGC string `json:"redoubt_last_gc,omitempty"`
}

// lastGCLine returns the last gctrace line of a Go program's log, with the
// figures that matter: "heap 14->27->14 MB, goal 28 MB, stacks 9 MB".
func lastGCLine(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	var last []string
	for _, l := range strings.Split(string(b), "\n") {
		if m := gcRe.FindStringSubmatch(l); m != nil {
			last = m
		}
	}
	if last == nil {
		return ""
	}
	return fmt.Sprintf("heap %s MB, goal %s MB, stacks %s MB", last[1], last[2], last[3])
}

var gcRe = regexp.MustCompile(`^gc \d+ .* (\d+->\d+->\d+) MB, (\d+) MB goal, (\d+) MB stacks`)

// measureIdle opens n connections through t (logging in and answering one
// PING each, so the upstream side exists too), lets them sit, and reads the
// proxy's and redis-server's RSS and descriptors.
func measureIdle(t *target, redis *proc, n int) idleResult {
	res := idleResult{Target: t.Name, Wanted: n}
	time.Sleep(500 * time.Millisecond)
	redisBefore := rssKiB(redis.pid())
	pipesBefore := 0
	if t.Proc != nil {
		res.ProxyRSSBefore = rssKiB(t.Proc.pid())
		res.ProxyFdsBefore, pipesBefore = fdCounts(t.Proc.pid())
	}
	conns := make([]net.Conn, n)
	var next, errs atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || errs.Load() > 200 {
					return
				}
				c, err := net.DialTimeout("tcp", t.Addr, 5*time.Second)
				if err == nil {
					if err = pingConn(c, t.Auth); err != nil {
						c.Close()
					}
				}
				if err != nil {
					errs.Add(1)
					firstErr.Do(func() { res.FirstErr = err.Error() })
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	res.OpenSeconds = time.Since(start).Seconds()
	for _, c := range conns {
		if c != nil {
			res.Opened++
		}
	}
	res.Errors = int(errs.Load())
	time.Sleep(2 * time.Second) // let the proxies settle (GC, lazy frees)
	if res.Opened > 0 {
		res.RedisKiBPerConn = float64(rssKiB(redis.pid())-redisBefore) / float64(res.Opened)
		if t.Proc != nil {
			res.ProxyRSSAfter = rssKiB(t.Proc.pid())
			res.ProxyFdsAfter, res.ProxyPipes = fdCounts(t.Proc.pid())
			res.ProxyPipes -= pipesBefore
			res.ProxyKiBPerConn = float64(res.ProxyRSSAfter-res.ProxyRSSBefore) / float64(res.Opened)
			res.FdsPerConn = float64(res.ProxyFdsAfter-res.ProxyFdsBefore) / float64(res.Opened)
		}
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return res
}
