package limit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

func TestSamplerAgainstRedis(t *testing.T) {
	srv := redistest.Start(t)
	defer srv.Stop()
	// 200 keys of ~1 KiB in DB 3, 5 in DB 4.
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	val := make([]byte, 1000)
	for i := range val {
		val[i] = 'v'
	}
	var req []byte
	req = append(req, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"...)
	for i := range 200 {
		k := "k" + strconv.Itoa(i)
		req = append(req, "*3\r\n$3\r\nSET\r\n$"+strconv.Itoa(len(k))+"\r\n"+k+"\r\n$1000\r\n"...)
		req = append(req, val...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "*2\r\n$6\r\nSELECT\r\n$1\r\n4\r\n"...)
	for i := range 5 {
		req = append(req, "*3\r\n$3\r\nSET\r\n$2\r\nk"+strconv.Itoa(i)+"\r\n$1\r\nv\r\n"...)
	}
	req = append(req, "*1\r\n$4\r\nPING\r\n"...)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 8192)
	for !hasSuffix(buf, "+PONG\r\n") {
		n, err := c.Read(buf[len(buf):cap(buf)])
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = buf[len(buf)-16:] // only the end matters
		}
	}

	s := NewSet(Options{})
	a := s.Tenant("a", Limits{Keys: 100, MemoryBytes: 1 << 30})
	b := s.Tenant("b", Limits{Keys: 100})
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Addr)
	}
	targets := func() []QuotaTarget {
		return []QuotaTarget{{Tenant: "a", Upstream: "main", DB: 3, Dial: dial}, {Tenant: "b", Upstream: "main", DB: 4, Dial: dial}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.RunSampler(ctx, func() time.Duration { return 20 * time.Millisecond }, targets, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().SampledAt.IsZero() || b.Stats().SampledAt.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("no sample within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Keys != 200 || sb.Keys != 5 || sb.MemoryBytes != -1 {
		t.Fatalf("a %+v b %+v", sa, sb)
	}
	// Every key is the same size, so the estimate is close to exact:
	// a 1000-byte string takes a little more than 1000 bytes in Redis.
	if sa.MemoryBytes < 200*1000 || sa.MemoryBytes > 200*1200 {
		t.Fatalf("memory estimate %d for 200 keys of 1000 bytes", sa.MemoryBytes)
	}
	if !a.overKeys.Load() || b.overKeys.Load() || a.overMem.Load() {
		t.Fatal("over-quota flags wrong")
	}
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}
