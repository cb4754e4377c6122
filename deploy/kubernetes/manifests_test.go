// Package kubernetes holds redoubt's Kubernetes manifests. Its test decodes
// each one strictly with the official k8s.io/api types (an unknown or
// misspelt field is an error, as `kubectl apply --validate=strict` would
// say) and checks that the objects refer to each other correctly. There is
// no API server here: the types are the schema.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsyaml "sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's schema these manifests use.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
}

// decodeStrict turns YAML into JSON and decodes it into v, refusing
// fields v's type does not have.
func decodeStrict(raw []byte, v any) error {
	j, err := sigsyaml.YAMLToJSONStrict(raw)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// objects are the decoded manifests, one of each kind.
type objects struct {
	ns     corev1.Namespace
	sa     corev1.ServiceAccount
	role   rbacv1.Role
	rb     rbacv1.RoleBinding
	cm     corev1.ConfigMap
	deploy appsv1.Deployment
	svc    corev1.Service
	pdb    policyv1.PodDisruptionBudget
	netpol networkingv1.NetworkPolicy
}

func load(t *testing.T) (*kustomization, *objects) {
	t.Helper()
	var k kustomization
	if err := decodeStrict(read(t, "kustomization.yaml"), &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	o := &objects{}
	byKind := map[string]any{
		"Namespace": &o.ns, "ServiceAccount": &o.sa, "Role": &o.role, "RoleBinding": &o.rb,
		"ConfigMap": &o.cm, "Deployment": &o.deploy, "Service": &o.svc,
		"PodDisruptionBudget": &o.pdb, "NetworkPolicy": &o.netpol,
	}
	seen := map[string]string{}
	for _, f := range k.Resources {
		raw := read(t, f)
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal(raw, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dst, ok := byKind[tm.Kind]
		if !ok {
			t.Fatalf("%s: kind %q has no check here", f, tm.Kind)
		}
		if prev := seen[tm.Kind]; prev != "" {
			t.Fatalf("%s: a second %s (first in %s)", f, tm.Kind, prev)
		}
		seen[tm.Kind] = f
		if err := decodeStrict(raw, dst); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for kind := range byKind {
		if seen[kind] == "" {
			t.Errorf("no %s among the kustomization's resources", kind)
		}
	}
	return &k, o
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKustomizationListsEveryManifest: a manifest left out of
// kustomization.yaml is never applied.
func TestKustomizationListsEveryManifest(t *testing.T) {
	k, _ := load(t)
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".yaml") && n != "kustomization.yaml" {
			files = append(files, n)
		}
	}
	want := slices.Clone(k.Resources)
	sort.Strings(want)
	if !slices.Equal(files, want) {
		t.Errorf("files %v, kustomization resources %v", files, want)
	}
	if k.Namespace != "redoubt" || len(k.Images) != 1 || k.Images[0].Name != "redoubt" {
		t.Errorf("kustomization namespace %q images %+v", k.Namespace, k.Images)
	}
}

func TestManifestsCrossReferences(t *testing.T) {
	k, o := load(t)
	ns := k.Namespace
	for _, m := range []metav1.ObjectMeta{o.sa.ObjectMeta, o.role.ObjectMeta, o.rb.ObjectMeta, o.cm.ObjectMeta,
		o.deploy.ObjectMeta, o.svc.ObjectMeta, o.pdb.ObjectMeta, o.netpol.ObjectMeta} {
		if m.Namespace != ns {
			t.Errorf("%s in namespace %q, want %q", m.Name, m.Namespace, ns)
		}
	}
	if o.ns.Name != ns {
		t.Errorf("Namespace %q, want %q", o.ns.Name, ns)
	}

	pod := o.deploy.Spec.Template
	podLabels := pod.Labels
	matches := func(what string, sel map[string]string) {
		if len(sel) == 0 {
			t.Errorf("%s: empty selector", what)
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%s, the pods have %v", what, k, v, podLabels)
			}
		}
	}
	matches("Deployment", o.deploy.Spec.Selector.MatchLabels)
	matches("Service", o.svc.Spec.Selector)
	matches("PodDisruptionBudget", o.pdb.Spec.Selector.MatchLabels)
	matches("NetworkPolicy", o.netpol.Spec.PodSelector.MatchLabels)

	// One container; its named ports are what everything else refers to.
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	port := func(what string, p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			n, ok := ports[p.StrVal]
			if !ok {
				t.Errorf("%s: port %q is not a container port %v", what, p.StrVal, ports)
			}
			return n
		}
		return p.IntVal
	}
	for _, sp := range o.svc.Spec.Ports {
		if got := port("Service port "+sp.Name, sp.TargetPort); got != ports[sp.Name] {
			t.Errorf("Service port %s targets %d, container port %s is %d", sp.Name, got, sp.Name, ports[sp.Name])
		}
	}
	for i, r := range o.netpol.Spec.Ingress {
		for _, p := range r.Ports {
			port(fmt.Sprintf("NetworkPolicy ingress[%d]", i), *p.Port)
		}
	}

	// The config in the ConfigMap listens where the container says it does.
	var cfg struct {
		Listen []struct{ Address string } `yaml:"listen"`
		Admin  struct{ Address string }   `yaml:"admin"`
	}
	if err := yaml.Unmarshal([]byte(o.cm.Data["redoubt.yaml"]), &cfg); err != nil {
		t.Fatalf("ConfigMap redoubt.yaml: %v", err)
	}
	if len(cfg.Listen) == 0 || portOf(t, cfg.Listen[0].Address) != ports["redis"] {
		t.Errorf("config listens on %+v, container port redis is %d", cfg.Listen, ports["redis"])
	}
	if portOf(t, cfg.Admin.Address) != ports["admin"] {
		t.Errorf("config admin on %q, container port admin is %d", cfg.Admin.Address, ports["admin"])
	}
	if pod.Annotations["prometheus.io/port"] != strconv.Itoa(int(ports["admin"])) {
		t.Errorf("prometheus.io/port %q, admin port %d", pod.Annotations["prometheus.io/port"], ports["admin"])
	}

	// Probes: redoubt's own paths, on the admin port.
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{{"startupProbe", c.StartupProbe, "/startup"}, {"livenessProbe", c.LivenessProbe, "/livez"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", p.what)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || port(p.what, p.probe.HTTPGet.Port) != ports["admin"] {
			t.Errorf("%s: %s on port %v, want %s on the admin port", p.what, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}

	// Volumes: the config from the ConfigMap, where the image looks for it.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("volume mount %s has no volume", m.Name)
		}
	}
	if v := vols["config"]; v.ConfigMap == nil || v.ConfigMap.Name != o.cm.Name {
		t.Errorf("config volume %+v, want ConfigMap %s", v, o.cm.Name)
	}
	if !slices.Contains(c.Args, "/etc/redoubt/redoubt.yaml") {
		t.Errorf("args %v do not name the mounted config", c.Args)
	}

	// Security: non-root, read-only root, no privilege escalation.
	psc, sc := pod.Spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v: want read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}

	// RBAC: the pods run as the ServiceAccount the RoleBinding binds to
	// the Role that reads Secrets, and nothing more.
	if pod.Spec.ServiceAccountName != o.sa.Name {
		t.Errorf("serviceAccountName %q, ServiceAccount %q", pod.Spec.ServiceAccountName, o.sa.Name)
	}
	if o.rb.RoleRef.Kind != "Role" || o.rb.RoleRef.Name != o.role.Name {
		t.Errorf("RoleBinding refers to %s %s, Role is %s", o.rb.RoleRef.Kind, o.rb.RoleRef.Name, o.role.Name)
	}
	if len(o.rb.Subjects) != 1 || o.rb.Subjects[0].Kind != "ServiceAccount" || o.rb.Subjects[0].Name != o.sa.Name || o.rb.Subjects[0].Namespace != ns {
		t.Errorf("RoleBinding subjects %+v", o.rb.Subjects)
	}
	if len(o.role.Rules) != 1 || !slices.Equal(o.role.Rules[0].Resources, []string{"secrets"}) ||
		!slices.Equal(o.role.Rules[0].Verbs, []string{"get", "list", "watch"}) {
		t.Errorf("Role rules %+v: want get/list/watch on secrets only", o.role.Rules)
	}
	if o.pdb.Spec.MinAvailable == nil || o.pdb.Spec.MinAvailable.IntValue() >= int(*o.deploy.Spec.Replicas) {
		t.Errorf("PodDisruptionBudget minAvailable %v with %d replicas blocks every eviction", o.pdb.Spec.MinAvailable, *o.deploy.Spec.Replicas)
	}
}

func portOf(t *testing.T, addr string) int32 {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// TestDecodeStrictRefusesUnknownFields keeps the check above honest: a
// misspelt field must fail the decoding.
func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	for _, tc := range []struct{ desc, doc string }{
		{"misspelt field", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n"},
		{"field at the wrong level", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      readOnlyRootFilesystem: true\n"},
		{"duplicate key", "apiVersion: apps/v1\nkind: Deployment\nkind: Service\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var d appsv1.Deployment
			if err := decodeStrict([]byte(tc.doc), &d); err == nil {
				t.Fatal("decoded without an error")
			}
		})
	}
}
