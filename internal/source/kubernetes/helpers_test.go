package kubernetes

import (
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// lockedWriter collects log output written from the source's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func selectorMatches(t *testing.T, l map[string]string) bool {
	t.Helper()
	sel, err := labels.Parse(config.DefaultK8sLabelSelector)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(l))
}

// everything is a selector that matches every Secret (the benchmark's
// comparison; the source refuses an empty selector).
type everything struct{ labels.Selector }

func (everything) Matches(labels.Labels) bool { return true }
func (everything) String() string             { return "" }
func (everything) Empty() bool                { return true }
