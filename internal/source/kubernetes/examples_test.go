package kubernetes

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const examples = "../../../deploy/kubernetes/examples"

// The example Secret users copy decodes to the tenant its comments
// promise (the API server folds stringData into data; so does the test).
func TestExampleSecret(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examples, "tenant-secret.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var s corev1.Secret
	if err := sigsyaml.UnmarshalStrict(raw, &s); err != nil {
		t.Fatal(err)
	}
	s.Data = map[string][]byte{}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	got, rej := decode(&s)
	if rej != nil {
		t.Fatal(rej)
	}
	if got.Name != "orders" || got.Upstream != "main" || got.DB == nil || *got.DB != 3 || got.Role != "readwrite" ||
		len(got.Credentials) != 2 || got.Credentials[0].ID != "2026-11" || got.Credentials[0].ExpiresAt.IsZero() {
		t.Fatalf("example decodes to %+v", got)
	}
	if !selectorMatches(t, s.Labels) {
		t.Fatal("the default label selector does not pick the example")
	}
}

// The RBAC examples grant get, list and watch on Secrets, nothing else.
func TestExampleRBACReadsSecretsOnly(t *testing.T) {
	for _, f := range []string{"clusterrole-secrets.yaml", "role-per-namespace.yaml"} {
		raw, err := os.ReadFile(filepath.Join(examples, f))
		if err != nil {
			t.Fatal(err)
		}
		roles := 0
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var head struct{ Kind string }
			if err := sigsyaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if head.Kind != "Role" && head.Kind != "ClusterRole" {
				continue
			}
			var r rbacv1.ClusterRole // a Role's fields are a subset
			if err := sigsyaml.UnmarshalStrict([]byte(doc), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			roles++
			for _, rule := range r.Rules {
				verbs := slices.Clone(rule.Verbs)
				slices.Sort(verbs)
				if !slices.Equal(rule.APIGroups, []string{""}) || !slices.Equal(rule.Resources, []string{"secrets"}) ||
					!slices.Equal(verbs, []string{"get", "list", "watch"}) || len(rule.ResourceNames) > 0 {
					t.Errorf("%s: rule %+v grants more than get/list/watch on secrets", f, rule)
				}
			}
		}
		if roles != 1 {
			t.Errorf("%s: %d roles, want 1", f, roles)
		}
	}
}
