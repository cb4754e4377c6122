package kubernetes

// No Kubernetes API server can run on the machines these tests run on, so
// they use client-go's fake clientset as the API: its object tracker
// answers the list and watch requests of the REAL informer machinery
// (reflector, DeltaFIFO, indexer, event handlers), exactly as built for
// production. Only the server side is a stand-in.

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

type harness struct {
	t       *testing.T
	client  *fake.Clientset
	src     *Source
	changes atomic.Int64
	log     *lockedWriter
}

func start(t *testing.T, cfg config.KubernetesSource, objs ...*corev1.Secret) *harness {
	t.Helper()
	if cfg.LabelSelector == "" {
		cfg.LabelSelector = config.DefaultK8sLabelSelector
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = config.Duration(20 * time.Millisecond)
	}
	h := &harness{t: t, client: fake.NewClientset(), log: &lockedWriter{}}
	for _, o := range objs {
		h.create(o)
	}
	src, err := New(Options{
		Config: cfg, Client: h.client, OnChange: func() { h.changes.Add(1) },
		Logger: slog.New(slog.NewTextHandler(h.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if !src.Start(ctx, 10*time.Second) {
		t.Fatal("informers did not sync")
	}
	return h
}

func (h *harness) create(s *corev1.Secret) {
	h.t.Helper()
	if _, err := h.client.CoreV1().Secrets(s.Namespace).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) update(s *corev1.Secret) {
	h.t.Helper()
	if _, err := h.client.CoreV1().Secrets(s.Namespace).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) delete(ns, name string) {
	h.t.Helper()
	if err := h.client.CoreV1().Secrets(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// waitView polls the source's view until cond holds.
func (h *harness) waitView(what string, cond func(v *view.View) bool) *view.View {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := h.src.View()
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; view %+v", what, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func names(v *view.View) string {
	var n []string
	for _, t := range v.Tenants {
		n = append(n, t.Name)
	}
	return strings.Join(n, ",")
}

func creds(v *view.View, tenant string) string {
	for _, t := range v.Tenants {
		if t.Name == tenant {
			var ids []string
			for _, c := range t.Credentials {
				ids = append(ids, c.ID)
			}
			return strings.Join(ids, ",")
		}
	}
	return "<none>"
}

func ok(data ...string) map[string]string {
	m := map[string]string{"upstream": "main"}
	for i := 0; i+1 < len(data); i += 2 {
		m[data[i]] = data[i+1]
	}
	return m
}

func TestSecretLifecycle(t *testing.T) {
	unlabelled := secret("team-a", "other", "", ok("secret", "x"))
	unlabelled.Labels = nil
	h := start(t, config.KubernetesSource{Namespaces: []string{"team-a", "team-b"}},
		secret("team-a", "orders", "orders", ok("secret.a", "A", "secret.b", "B")),
		unlabelled,
		secret("team-c", "elsewhere", "elsewhere", ok("secret", "x")), // namespace not watched
	)
	h.waitView("the first list", func(v *view.View) bool { return names(v) == "orders" && creds(v, "orders") == "a,b" })
	if g := h.src.Stats().Read(); g.Generation != 1 || g.Entries != 1 || g.LastSync.IsZero() {
		t.Fatalf("stats after first list: %+v", g)
	}

	// A Secret appears in the second namespace: one more tenant.
	h.create(secret("team-b", "billing", "", ok("secret", "x")))
	h.waitView("team-b/billing", func(v *view.View) bool { return names(v) == "orders,team-b/billing" })

	// A rotation key removed: the tenant keeps only the other credential.
	h.update(secret("team-a", "orders", "orders", ok("secret.b", "B")))
	h.waitView("secret.a removed", func(v *view.View) bool { return creds(v, "orders") == "b" })

	// Label removed: the Secret is no longer redoubt's.
	u := secret("team-b", "billing", "", ok("secret", "x"))
	u.Labels = map[string]string{"app": "billing"}
	h.update(u)
	h.waitView("unlabelled billing gone", func(v *view.View) bool { return names(v) == "orders" })

	// Deleted: the tenant is gone.
	h.delete("team-a", "orders")
	v := h.waitView("orders deleted", func(v *view.View) bool { return len(v.Tenants) == 0 })
	if len(v.Rejected) != 0 {
		t.Fatalf("rejections %+v", v.Rejected)
	}
	if h.changes.Load() < 5 {
		t.Fatalf("OnChange called %d times, want one per change (5)", h.changes.Load())
	}
}

func TestBadSecretSkippedOthersKeepWorking(t *testing.T) {
	h := start(t, config.KubernetesSource{NamespacePrefix: "team-"},
		secret("team-a", "good", "good", ok("secret", "x")),
		secret("team-a", "bad", "bad", ok("secret", "x", "db", "seven")),
		secret("team-b", "dup", "good", ok("secret", "y")), // same tenant name as team-a/good
		secret("kube-system", "outside", "outside", ok("secret", "x")),
	)
	v := h.waitView("first list", func(v *view.View) bool { return len(v.Rejected) == 2 })
	if names(v) != "good" {
		t.Fatalf("tenants %q, want good only", names(v))
	}
	got := v.Rejected[0].String() + "; " + v.Rejected[1].String()
	for _, want := range []string{"team-a/bad: db: not a whole number", "team-b/dup: metadata.labels.redoubt.io/tenant: tenant \"good\" is already defined by Secret team-a/good"} {
		if !strings.Contains(got, want) {
			t.Fatalf("rejections %q lack %q", got, want)
		}
	}
	if r := h.src.Stats().Read().Rejected; len(r) != 2 {
		t.Fatalf("stats rejected %+v", r)
	}
	if !strings.Contains(h.log.String(), "secret=team-a/bad field=db") {
		t.Fatalf("log lacks the rejected Secret and field:\n%s", h.log.String())
	}

	// Fixing the bad Secret brings its tenant in; nothing else moves.
	h.update(secret("team-a", "bad", "bad", ok("secret", "x", "db", "7")))
	v = h.waitView("fixed", func(v *view.View) bool { return names(v) == "bad,good" })
	if len(v.Rejected) != 1 {
		t.Fatalf("rejections %+v", v.Rejected)
	}
}

// A burst of changes is debounced into a few rebuilds, not one per change.
func TestBurstDebounced(t *testing.T) {
	h := start(t, config.KubernetesSource{Namespaces: []string{"team-a"}, Debounce: config.Duration(300 * time.Millisecond)})
	before := h.changes.Load()
	const n = 40
	for i := range n {
		h.create(secret("team-a", "s"+string(rune('a'+i%26))+string(rune('a'+i/26)), "", ok("secret", "x")))
	}
	h.waitView("all Secrets", func(v *view.View) bool { return len(v.Tenants) == n })
	if got := h.changes.Load() - before; got >= n/2 {
		t.Fatalf("%d rebuilds for %d changes: not debounced", got, n)
	}
}

func TestBadSelectorRefused(t *testing.T) {
	for _, sel := range []string{"a in (", ""} {
		_, err := New(Options{Config: config.KubernetesSource{Namespaces: []string{"a"}, LabelSelector: sel}, Client: fake.NewClientset()})
		if err == nil {
			t.Fatalf("selector %q accepted", sel)
		}
	}
}
