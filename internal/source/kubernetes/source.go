// Package kubernetes reads tenants from labelled Kubernetes Secrets: one
// shared informer per namespace scope, with the label selector in the list
// and watch requests so the API server sends only the Secrets meant for
// redoubt. client-go lives here and nowhere else, so only the packages
// that wire this source in pay for compiling it.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

// Client is the part of a clientset this source uses. A full clientset
// (kubernetes.Interface, or client-go's fake one in tests) satisfies it.
type Client interface {
	CoreV1() corev1client.CoreV1Interface
}

// Options configure a Source.
type Options struct {
	Config config.KubernetesSource
	// Client talks to the API server; nil builds one from
	// Config.Kubeconfig, or in-cluster.
	Client Client
	Logger *slog.Logger
	// OnChange is called (from the source's goroutine) after each new view.
	OnChange func()
	Now      func() time.Time
}

// Source watches tenant Secrets and keeps the current view.
type Source struct {
	cfg       config.KubernetesSource
	log       *slog.Logger
	onChange  func()
	now       func() time.Time
	selector  labels.Selector
	informers []cache.SharedIndexInformer
	deb       *view.Debouncer
	stats     *view.Stats
	current   atomic.Pointer[view.View]
	changed   model.Notify

	mu     sync.Mutex // guards logged
	logged map[string]string
}

// New builds the informers; Start runs them.
func New(o Options) (*Source, error) {
	sel, err := labels.Parse(o.Config.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes.label_selector: %w", err)
	}
	if sel.Empty() {
		return nil, errors.New("sources.kubernetes.label_selector: selects every Secret")
	}
	client := o.Client
	if client == nil {
		if client, err = NewClient(o.Config.Kubeconfig); err != nil {
			return nil, err
		}
	}
	s := &Source{
		cfg:      o.Config,
		log:      o.Logger,
		onChange: o.OnChange,
		now:      o.Now,
		selector: sel,
		deb:      view.NewDebouncer(o.Config.Debounce.D()),
		stats:    &view.Stats{Source: "kubernetes"},
		logged:   map[string]string{},
		changed:  model.NewNotify(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("source", "kubernetes")
	if s.now == nil {
		s.now = time.Now
	}
	if s.onChange == nil {
		s.onChange = func() {}
	}
	s.current.Store(&view.View{})
	scopes := o.Config.Namespaces
	if len(scopes) == 0 {
		// A prefix cannot be a list option: watch every namespace for
		// the labelled Secrets and keep those under the prefix.
		scopes = []string{metav1.NamespaceAll}
	}
	for _, ns := range scopes {
		inf, err := s.newInformer(client, ns)
		if err != nil {
			return nil, err
		}
		s.informers = append(s.informers, inf)
	}
	return s, nil
}

func (s *Source) newInformer(client Client, ns string) (cache.SharedIndexInformer, error) {
	secrets := client.CoreV1().Secrets(ns)
	sel := s.selector.String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return secrets.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return secrets.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), &corev1.Secret{}, 0, cache.Indexers{})
	// Keep only what decoding reads: managed fields and annotations
	// (kubectl's last-applied-configuration holds a copy of the data)
	// would double what each cached Secret costs.
	if err := inf.SetTransform(slim); err != nil {
		return nil, err
	}
	scope := ns
	if scope == "" {
		scope = "all namespaces"
	}
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		s.stats.Error()
		s.log.Warn("list/watch of Secrets failed; retrying with backoff, the last view stays", "scope", scope, "err", err)
	}); err != nil {
		return nil, err
	}
	notify := func(obj any) {
		if s.inScope(obj) {
			s.deb.Notify()
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(old, obj any) { notify(old); notify(obj) },
		DeleteFunc: notify,
	}); err != nil {
		return nil, err
	}
	return inf, nil
}

func slim(obj any) (any, error) {
	if s, ok := obj.(*corev1.Secret); ok {
		s.ManagedFields = nil
		s.Annotations = nil
		s.StringData = nil
	}
	return obj, nil
}

// inScope reports whether a Secret (or the tombstone of a deleted one) is
// under the namespace prefix; informers on listed namespaces see only
// their own.
func (s *Source) inScope(obj any) bool {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return false
	}
	return len(s.cfg.Namespaces) > 0 || strings.HasPrefix(sec.Namespace, s.cfg.NamespacePrefix)
}

// Start runs the informers until ctx ends and waits for their first list
// (or for ctx). It returns false when the first list did not complete; the
// source then keeps trying and publishes when it can.
func (s *Source) Start(ctx context.Context, wait time.Duration) bool {
	synced := make([]cache.InformerSynced, len(s.informers))
	for i, inf := range s.informers {
		go inf.RunWithContext(ctx)
		synced[i] = inf.HasSynced
	}
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), synced...) {
			s.rebuild()
			s.deb.Run(ctx, s.rebuild)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		if s.stats.Read().Generation > 0 {
			return true
		}
		select {
		case <-wctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// View is the current state: the tenants of the labelled Secrets in scope.
func (s *Source) View() *view.View { return s.current.Load() }

// Stats are the source's health figures.
func (s *Source) Stats() *view.Stats { return s.stats }

// rebuild decodes every cached Secret into a new view and publishes it
// when it differs from the current one.
func (s *Source) rebuild() {
	var secrets []*corev1.Secret
	for _, inf := range s.informers {
		for _, obj := range inf.GetStore().List() {
			sec, ok := obj.(*corev1.Secret)
			// The API server filtered by the selector already; checking
			// again costs nothing and keeps a misbehaving server (or a
			// fake) from widening what redoubt trusts.
			if ok && s.inScope(sec) && s.selector.Matches(labels.Set(sec.Labels)) {
				secrets = append(secrets, sec)
			}
		}
	}
	v := build(secrets)
	s.logRejections(v.Rejected)
	// The first view is published even when empty: it says the API
	// server was read.
	old := s.current.Load()
	v.Generation = old.Generation
	if old.Generation > 0 && reflect.DeepEqual(old, v) {
		s.stats.Synced(s.now())
		return
	}
	v.Generation = old.Generation + 1
	s.current.Store(v)
	s.stats.Published(v, s.now())
	s.log.Info("Secrets changed", "tenants", len(v.Tenants), "rejected", len(v.Rejected))
	s.changed.Signal()
	s.onChange()
}

// build decodes secrets into a view. Two Secrets naming the same tenant:
// the first by namespace/name keeps it, the other is rejected.
func build(secrets []*corev1.Secret) *view.View {
	sortSecrets(secrets)
	v := &view.View{Tenants: []view.Tenant{}}
	owner := map[string]string{}
	for _, sec := range secrets {
		t, rej := decode(sec)
		if rej != nil {
			v.Rejected = append(v.Rejected, *rej)
			continue
		}
		if first, dup := owner[t.Name]; dup {
			v.Rejected = append(v.Rejected, view.Rejection{
				Entry: t.Origin, Field: "metadata.labels." + TenantLabel,
				Reason: fmt.Sprintf("tenant %q is already defined by Secret %s", t.Name, first),
			})
			continue
		}
		owner[t.Name] = t.Origin
		v.Tenants = append(v.Tenants, t)
	}
	v.Sort()
	return v
}

func sortSecrets(ss []*corev1.Secret) {
	key := func(s *corev1.Secret) string { return s.Namespace + "/" + s.Name }
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && key(ss[j]) < key(ss[j-1]); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// logRejections logs each rejection once, when it first appears or its
// reason changes, so a bad Secret does not repeat on every rebuild.
func (s *Source) logRejections(rs []view.Rejection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]string, len(rs))
	for _, r := range rs {
		msg := r.Field + ": " + r.Reason
		seen[r.Entry] = msg
		if s.logged[r.Entry] != msg {
			s.log.Warn("Secret skipped", "secret", r.Entry, "field", r.Field, "reason", r.Reason)
		}
	}
	for entry := range s.logged {
		if _, still := seen[entry]; !still {
			s.log.Info("Secret no longer skipped", "secret", entry)
		}
	}
	s.logged = seen
}
