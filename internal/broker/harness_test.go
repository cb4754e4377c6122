package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/broker/ectest"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/store"
)

const (
	svcID       = "11111111-0000-4000-8000-000000000001"
	otherSvcID  = "11111111-0000-4000-8000-000000000002"
	sharedID    = "22222222-0000-4000-8000-000000000001"
	shared2ID   = "22222222-0000-4000-8000-000000000002"
	smallID     = "22222222-0000-4000-8000-000000000003"
	mediumID    = "22222222-0000-4000-8000-000000000004"
	replicasID  = "22222222-0000-4000-8000-000000000005"
	newEngineID = "22222222-0000-4000-8000-000000000006"
	otherPlanID = "22222222-0000-4000-8000-000000000007"
	user, pass  = "platform", "broker-password-0123"
)

// fixedSource is the part the configuration file would give: upstreams.
type fixedSource struct{ part model.Part }

func (s fixedSource) Name() string                             { return model.SourceFile }
func (s fixedSource) Load(context.Context) (model.Part, error) { return s.part, nil }
func (s fixedSource) Changed() <-chan struct{}                 { return nil }

type harness struct {
	b     *Broker
	plane *controlplane.Plane
	st    *store.Bolt
	srv   *httptest.Server
	ec    *ectest.StandIn
	up    *redistest.Server
}

func testConfig(ecEndpoint string) *config.Broker {
	one, two := 1, 2
	ec := func(name, id, node string, replicas *int, version string) config.BrokerPlan {
		return config.BrokerPlan{Name: name, ID: id, Kind: config.PlanElastiCache, NodeType: node,
			EngineVersion: version, Replicas: replicas, Region: "eu-west-1", SubnetGroup: "redis-subnets",
			SecurityGroupIDs: []string{"sg-0123"}, SnapshotRetentionLimit: 7, IAMUser: "redoubt",
			UserGroupID: "redoubt-iam", Parameters: map[string]string{"timeout": "300"}, AWSEndpoint: ecEndpoint}
	}
	return &config.Broker{
		Username: user, Password: pass,
		Endpoint: config.BrokerEndpoint{Host: "redis.example.com", Port: 6380, TLS: true},
		Services: []config.BrokerService{
			{Name: "redis", ID: svcID, Plans: []config.BrokerPlan{
				{Name: "shared", ID: sharedID, Kind: config.PlanShared, Upstreams: []string{"main"}},
				{Name: "shared-expiring", ID: shared2ID, Kind: config.PlanShared, Upstreams: []string{"main"},
					CredentialTTL: config.Duration(3600e9)},
				ec("dedicated-small", smallID, "cache.t4g.small", &one, "7.1"),
				ec("dedicated-medium", mediumID, "cache.t4g.medium", &one, "7.1"),
				ec("dedicated-small-2", replicasID, "cache.t4g.small", &two, "7.1"),
				ec("dedicated-small-6", newEngineID, "cache.t4g.small", &one, "6.2"),
			}},
			{Name: "other", ID: otherSvcID, Plans: []config.BrokerPlan{
				{Name: "other", ID: otherPlanID, Kind: config.PlanShared, Upstreams: []string{"main"}},
			}},
		},
	}
}

// newHarness runs the broker on a real control plane (store, snapshot,
// directory) over a real redis-server, its ElastiCache calls going to a
// local stand-in through the SDK's endpoint override.
func newHarness(t *testing.T, fileTenants ...model.Tenant) *harness {
	t.Helper()
	// No AWS here: static test credentials, nothing from the machine.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTESTBROKER000000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key-for-the-stand-in")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{ec: ectest.Start(t), up: redistest.Start(t)}
	st, err := store.Open(filepath.Join(t.TempDir(), "redoubt.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := Open(Options{Config: testConfig(h.ec.URL), StatePath: filepath.Join(t.TempDir(), "broker.db"), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	// "alias" is the same server under another name.
	file := fixedSource{model.Part{Tenants: fileTenants, Upstreams: map[string]model.Upstream{
		"main": {Address: h.up.Addr, MaxDB: 3}, "alias": {Address: h.up.Addr, MaxDB: 3}}}}
	h.plane = controlplane.New(controlplane.Options{
		Sources: []model.Source{file, st, b.Source()}, Store: st,
		Creds: controlplane.NewAWSCreds(ctx, log).Get, Log: log,
		Apply: func(*controlplane.State) int { return 0 },
	})
	if _, err := h.plane.Load(ctx); err != nil {
		t.Fatal(err)
	}
	go h.plane.Run(ctx)
	b.Attach(h.plane)
	h.b = b
	h.srv = httptest.NewServer(b.Handler())
	t.Cleanup(h.srv.Close)
	return h
}

// request is one OSB call; headers default to a correct platform's.
type request struct {
	method, path string
	body         string
	user, pass   string // "" = the right ones; "-" = no auth header
	version      string // "" = 2.17; "-" = none
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *harness) do(t *testing.T, r request) response {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = bytes.NewBufferString(r.body)
	}
	req, err := http.NewRequest(r.method, h.srv.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.user == "-":
	case r.user != "":
		req.SetBasicAuth(r.user, r.pass)
	default:
		req.SetBasicAuth(user, pass)
	}
	switch r.version {
	case "-":
	case "":
		req.Header.Set("X-Broker-API-Version", "2.17")
	default:
		req.Header.Set("X-Broker-API-Version", r.version)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// must runs r and fails unless it answers want.
func (h *harness) must(t *testing.T, want int, method, path, body string) response {
	t.Helper()
	res := h.do(t, request{method: method, path: path, body: body})
	if res.status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.status, want, res.raw)
	}
	return res
}

// waitUntil polls cond for up to 5 s (the plane applies source changes
// on its own goroutine).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
