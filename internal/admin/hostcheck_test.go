package admin

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// A page served from another origin can reach a loopback admin port
// through DNS rebinding, but its requests carry its own name in Host: the
// admin endpoint serves only loopback names, its configured host and, when
// it listens on every interface, IP literals.
func TestAdminChecksHost(t *testing.T) {
	a, err := Start("127.0.0.1:0", proxy.New(proxy.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}),
		slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Pprof: true, Auth: NewAuthenticator("admin-token", false)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	port := a.Addr()[strings.LastIndexByte(a.Addr(), ':'):]
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		desc, method, path, host string
		want                     int
	}{
		{"bound address", "GET", "/healthz", "127.0.0.1" + port, 200},
		{"localhost", "GET", "/healthz", "localhost" + port, 200},
		{"localhost, odd spelling", "GET", "/sessions", "LocalHost." + port, 200},
		{"other loopback address", "GET", "/metrics", "127.0.0.2" + port, 200},
		{"IPv6 loopback", "GET", "/healthz", "[::1]" + port, 200},
		{"no port", "GET", "/healthz", "localhost", 200},
		{"rebinding name", "GET", "/sessions", "attacker.example" + port, 403},
		{"rebinding name ending in a loopback name", "GET", "/sessions", "localhost.attacker.example" + port, 403},
		{"rebinding name that is a loopback address in DNS", "GET", "/healthz", "127.0.0.1.nip.io" + port, 403},
		{"end a session through rebinding", "DELETE", "/sessions/1", "attacker.example" + port, 403},
		{"profiler through rebinding", "GET", "/debug/pprof/cmdline", "attacker.example" + port, 403},
		{"non-loopback IP on a loopback-bound endpoint", "GET", "/healthz", "10.1.2.3" + port, 403},
		{"the page's login form", "GET", "/ui/login", "localhost" + port, 200},
		{"the page through rebinding", "GET", "/ui/login", "attacker.example" + port, 403},
		{"the page's login through rebinding", "POST", "/ui/login", "attacker.example" + port, 403},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://"+a.Addr()+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s with Host %q: %d, want %d", tc.method, tc.path, tc.host, resp.StatusCode, tc.want)
			}
		})
	}
}

func TestHostAllowedByAdminAddress(t *testing.T) {
	for _, tc := range []struct {
		admin, host string
		want        bool
	}{
		{"0.0.0.0:9121", "10.1.2.3:9121", true},
		{"[::]:9121", "[2001:db8::1]:9121", true},
		{":9121", "192.0.2.7", true},
		{"0.0.0.0:9121", "admin.internal:9121", false},
		{"admin.internal:9121", "Admin.Internal.:9121", true},
		{"admin.internal:9121", "other.internal:9121", false},
		{"admin.internal:9121", "10.1.2.3:9121", false},
		{"10.0.0.5:9121", "10.0.0.5:9121", true},
		{"10.0.0.5:9121", "10.0.0.6:9121", false},
		{"10.0.0.5:9121", "localhost:9121", true},
		{"[fd00::5]:9121", "[fd00:0::5]:9121", true},
		{"127.0.0.1:9121", "", false},
	} {
		names, anyIP := allowedHosts(tc.admin)
		if got := hostAllowed(tc.host, names, anyIP); got != tc.want {
			t.Errorf("admin %s, Host %q: allowed=%v, want %v", tc.admin, tc.host, got, tc.want)
		}
	}
}
