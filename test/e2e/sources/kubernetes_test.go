package sources

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/source/open"
)

func tenantSecret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name, Labels: map[string]string{"redoubt.io/tenant": name}},
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// No Kubernetes API server can run here: client-go's fake clientset
// answers the real informers. A Secret appears: its tenant logs in. A
// rotation key removed, another given a new value, then the Secret
// deleted: exactly those sessions end within 1 s. A file tenant of the same name wins (a conflict).
func TestKubernetesSourceLive(t *testing.T) {
	up := redistest.Start(t)
	kube := fake.NewClientset()
	secrets := kube.CoreV1().Secrets("team-a")
	ctx := context.Background()
	t.Setenv("FILE_SECRET", "file-secret-0123456789")
	g := startGateway(t, open.Options{KubeClient: kube}, `
listen: [{address: %[1]s}]
admin: {address: %[2]s}
limits: {shutdown_grace: 1s}
upstreams: {main: {address: `+up.Addr+`}}
tenants: [{name: taken, secret_env: FILE_SECRET, upstream: main, db: 1}]
sources: {kubernetes: {namespaces: [team-a]}}
`)
	if _, err := secrets.Create(ctx, tenantSecret("orders", map[string]string{
		"secret.a": "orders-secret-a", "secret.b": "orders-secret-b", "secret.c": "orders-secret-c", "upstream": "main", "db": "3",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Create(ctx, tenantSecret("taken", map[string]string{"secret": "k8s-secret", "upstream": "main", "db": "2"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := g.mustLogin(t, "orders", "orders-secret-a")
	sb := g.mustLogin(t, "orders", "orders-secret-b")
	sc := g.mustLogin(t, "orders", "orders-secret-c")
	if got := sa.do("SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET: %s", got)
	}
	if s, ok := g.login(t, "taken", "k8s-secret"); ok {
		s.Close()
		t.Fatal("a Secret overrode a file tenant")
	}
	g.mustLogin(t, "taken", "file-secret-0123456789").Close()
	if !strings.Contains(g.log.String(), "already defined by source file") {
		t.Errorf("conflict not logged:\n%s", g.log.String())
	}

	start := time.Now()
	if _, err := secrets.Update(ctx, tenantSecret("orders", map[string]string{
		"secret.b": "orders-secret-b", "secret.c": "orders-secret-c", "upstream": "main", "db": "3",
	}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !sa.closedWithin(time.Second) {
		t.Fatal("the removed key's session still open after 1 s")
	}
	t.Logf("secret.a removed: its session ended after %v", time.Since(start))
	if got := sb.do("GET", "k"); got != "$1" {
		t.Fatalf("the other credential's session: %s", got)
	}

	// secret.b given a new value: b's session ends, c's stays.
	start = time.Now()
	if _, err := secrets.Update(ctx, tenantSecret("orders", map[string]string{
		"secret.b": "orders-secret-b2", "secret.c": "orders-secret-c", "upstream": "main", "db": "3",
	}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !sb.closedWithin(time.Second) {
		t.Fatal("the changed key's session still open after 1 s")
	}
	t.Logf("secret.b changed: its session ended after %v", time.Since(start))
	if got := sc.do("PING"); got != "+PONG" {
		t.Fatalf("the untouched credential's session: %s", got)
	}
	g.mustLogin(t, "orders", "orders-secret-b2").Close()

	start = time.Now()
	if err := secrets.Delete(ctx, "orders", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !sc.closedWithin(time.Second) {
		t.Fatal("a deleted Secret's session still open after 1 s")
	}
	t.Logf("Secret deleted: its session ended after %v", time.Since(start))

	_, metrics := g.get(t, "/metrics")
	for _, want := range []string{`redoubt_source_entries{source="kubernetes"} 1`, `redoubt_source_problems{source="kubernetes"} 1`,
		`redoubt_source_conflicts{source="kubernetes",winner="file"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
