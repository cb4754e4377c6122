package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

const (
	brokerUser     = "platform"
	brokerPassword = "broker-password-0123456789"
	brokerService  = "8c8ad7c6-1b5e-4c5e-9c1e-000000000001"
	brokerShared   = "8c8ad7c6-1b5e-4c5e-9c1e-000000000002"
)

// brokerGateway is a gateway with a store and the service broker, its
// shared plan on upstream "main".
type brokerGateway struct {
	*Gateway
	addr, broker string
	scheme       string       // http or https
	client       *http.Client // the platform's
}

// startBrokerGateway starts it; brokerExtra is added to the broker: block
// (indented two spaces), e.g. a tls: line.
func startBrokerGateway(t *testing.T, upstream, brokerExtra string) *brokerGateway {
	t.Helper()
	t.Setenv("E2E_BROKER_PASSWORD", brokerPassword)
	g := &brokerGateway{addr: freeAddr(t), broker: freeAddr(t), scheme: "http", client: http.DefaultClient}
	_, port, _ := net.SplitHostPort(g.addr)
	cfg := `
listen: [{address: ` + g.addr + `}]
store: {path: ` + filepath.Join(t.TempDir(), "redoubt.db") + `}
limits: {shutdown_grace: 1s}
upstreams:
  main: {address: ` + upstream + `}
broker:
  address: ` + g.broker + `
  username: ` + brokerUser + `
  password_env: E2E_BROKER_PASSWORD
` + brokerExtra + `
  endpoint: {host: 127.0.0.1, port: ` + port + `, tls: false}
  services:
    - name: redis
      id: ` + brokerService + `
      description: Redis through redoubt
      plans:
        - {name: shared, id: ` + brokerShared + `, kind: shared, upstreams: [main]}
`
	g.Gateway = startGateway(t, cfg, g.addr, g.broker)
	return g
}

// osb calls the broker as a platform does (basic auth, API version 2.17).
func (g *brokerGateway) osb(t testing.TB, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.scheme+"://"+g.broker+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(brokerUser, brokerPassword)
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Content-Type", "application/json")
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func (g *brokerGateway) mustOSB(t testing.TB, want int, method, path string, body any) map[string]any {
	t.Helper()
	code, out := g.osb(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

// bindCreds binds and returns the credentials object.
func (g *brokerGateway) bindCreds(t testing.TB, instance, binding string) map[string]any {
	t.Helper()
	out := g.mustOSB(t, 201, "PUT", "/v2/service_instances/"+instance+"/service_bindings/"+binding,
		map[string]any{"service_id": brokerService, "plan_id": brokerShared, "app_guid": "app-" + binding})
	c, ok := out["credentials"].(map[string]any)
	if !ok {
		t.Fatalf("bind %s/%s: no credentials in %v", instance, binding, out)
	}
	return c
}

func newHTTPClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }
