package kubernetes

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// BenchmarkInformerMemory measures what the informer holds with 5,000
// Secrets in the namespace of which 500 are labelled for redoubt: with the
// label selector in the list/watch options (as the source does) and,
// for comparison, without it. Each Secret carries 1 KiB of data and a
// kubectl last-applied annotation of the same size. The fake clientset
// stands in for the API server (none can run here); its own copy of the
// 5,000 Secrets is in the baseline, so the figure is the informer's.
//
//	go test -run '^$' -bench InformerMemory -benchtime 1x ./internal/source/kubernetes/
func BenchmarkInformerMemory(b *testing.B) {
	for _, sel := range []string{config.DefaultK8sLabelSelector, "everything"} {
		b.Run("selector="+sel, func(b *testing.B) {
			for range b.N {
				client := fake.NewClientset()
				pad := make([]byte, 1024)
				for i := range 5000 {
					s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: fmt.Sprintf("s%04d", i),
						Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(pad)}},
						Data: map[string][]byte{"secret": []byte(fmt.Sprintf("secret-%d", i)), "upstream": []byte("main"), "blob": pad}}
					if i%10 == 0 {
						s.Labels = map[string]string{TenantLabel: fmt.Sprintf("t%04d", i)}
					}
					if _, err := client.CoreV1().Secrets("team-a").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				before := heap()
				cfg := config.KubernetesSource{Namespaces: []string{"team-a"}, LabelSelector: config.DefaultK8sLabelSelector, Debounce: config.Duration(time.Millisecond)}
				src, err := New(Options{Config: cfg, Client: client})
				if err != nil {
					b.Fatal(err)
				}
				if sel == "everything" {
					// What an unfiltered informer would cost: the same
					// machinery, listing every Secret.
					src.selector = everything{}
					src.informers = nil
					inf, err := src.newInformer(client, "team-a")
					if err != nil {
						b.Fatal(err)
					}
					src.informers = append(src.informers, inf)
				}
				ctx, cancel := context.WithCancel(context.Background())
				if !src.Start(ctx, time.Minute) {
					b.Fatal("no sync")
				}
				cached := 0
				for _, inf := range src.informers {
					cached += len(inf.GetStore().List())
				}
				after := heap()
				want := map[string]int{"everything": 5000}[sel]
				if want == 0 {
					want = 500
				}
				if cached != want {
					b.Fatalf("informer caches %d Secrets, want %d", cached, want)
				}
				b.ReportMetric(float64(after-before)/(1<<20), "MiB")
				b.ReportMetric(float64(cached), "cached")
				runtime.KeepAlive(src)
				cancel()
			}
		})
	}
}

func heap() uint64 {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
