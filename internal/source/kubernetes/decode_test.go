package kubernetes

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

func secret(ns, name, tenant string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{TenantLabel: tenant}},
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestDecode(t *testing.T) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	three := 3
	tests := []struct {
		desc      string
		tenant    string // label value
		data      map[string]string
		want      *view.Tenant // nil: rejected
		wantField string
	}{
		{
			desc:   "complete",
			tenant: "orders",
			data: map[string]string{"secret": "s3cret-value", "upstream": "main", "db": "3", "role": "readonly",
				"commands": "-keys", "expires_at": "2027-01-01T00:00:00Z", "host": "ignored.example"},
			want: &view.Tenant{Name: "orders", Upstream: "main", DB: &three, Role: "readonly", Commands: "-keys", Origin: "team-a/orders-redis",
				Credentials: []view.Credential{{ID: "default", Digest: sha256.Sum256([]byte("s3cret-value")), ExpiresAt: exp}}},
		},
		{
			desc: "name from namespace/name, default role, rotation keys",
			data: map[string]string{"secret.b": "new-one", "secret.a": "old-one", "upstream": "main"},
			want: &view.Tenant{Name: "team-a/orders-redis", Upstream: "main", Role: "readwrite", Origin: "team-a/orders-redis",
				Credentials: []view.Credential{{ID: "a", Digest: sha256.Sum256([]byte("old-one"))}, {ID: "b", Digest: sha256.Sum256([]byte("new-one"))}}},
		},
		{
			desc:   "values are trimmed except secrets",
			tenant: "t",
			data:   map[string]string{"secret": "with-newline\n", "upstream": " main\n", "db": "3\n"},
			want: &view.Tenant{Name: "t", Upstream: "main", DB: &three, Role: "readwrite", Origin: "team-a/orders-redis",
				Credentials: []view.Credential{{ID: "default", Digest: sha256.Sum256([]byte("with-newline\n"))}}},
		},
		{desc: "no secret", tenant: "t", data: map[string]string{"upstream": "main"}, wantField: "secret"},
		{desc: "empty secret", tenant: "t", data: map[string]string{"secret.x": "", "upstream": "main"}, wantField: "secret.x"},
		{desc: "bad credential id", tenant: "t", data: map[string]string{"secret.": "v", "upstream": "main"}, wantField: "secret."},
		{desc: "no upstream", tenant: "t", data: map[string]string{"secret": "v"}, wantField: "upstream"},
		{desc: "bad upstream name", tenant: "t", data: map[string]string{"secret": "v", "upstream": "a b"}, wantField: "upstream"},
		{desc: "db not a number", tenant: "t", data: map[string]string{"secret": "v", "upstream": "main", "db": "three"}, wantField: "db"},
		{desc: "negative db", tenant: "t", data: map[string]string{"secret": "v", "upstream": "main", "db": "-1"}, wantField: "db"},
		{desc: "unknown role", tenant: "t", data: map[string]string{"secret": "v", "upstream": "main", "role": "admin"}, wantField: "role"},
		{desc: "bad commands", tenant: "t", data: map[string]string{"secret": "v", "upstream": "main", "commands": "+nosuchcommand"}, wantField: "commands"},
		{desc: "bad expiry", tenant: "t", data: map[string]string{"secret": "v", "upstream": "main", "expires_at": "tomorrow"}, wantField: "expires_at"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, rej := decode(secret("team-a", "orders-redis", tc.tenant, tc.data))
			if tc.want == nil {
				if rej == nil {
					t.Fatalf("accepted %+v, want field %q rejected", got, tc.wantField)
				}
				if rej.Field != tc.wantField || rej.Entry != "team-a/orders-redis" {
					t.Fatalf("rejected %+v, want entry team-a/orders-redis field %q", rej, tc.wantField)
				}
				return
			}
			if rej != nil {
				t.Fatalf("rejected: %v", rej)
			}
			if !equalTenant(got, *tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, *tc.want)
			}
		})
	}
}

// A rejection never carries a secret's value, whichever field is at fault.
func TestDecodeRejectionHidesSecret(t *testing.T) {
	for _, bad := range []map[string]string{
		{"role": "x"}, {"commands": "+nosuch"}, {"db": "x"}, {"expires_at": "x"}, {"upstream": ""}, {"secret.": "x"},
	} {
		data := map[string]string{"secret": "hunter2-hunter2", "upstream": "main"}
		for k, v := range bad {
			data[k] = v
		}
		_, rej := decode(secret("ns", "n", "t", data))
		if rej == nil {
			t.Fatalf("%v accepted", bad)
		}
		if strings.Contains(rej.String(), "hunter2") {
			t.Fatalf("rejection %q names the secret", rej)
		}
	}
}

func equalTenant(a, b view.Tenant) bool {
	if a.Name != b.Name || a.Upstream != b.Upstream || a.Role != b.Role || a.Commands != b.Commands || a.Origin != b.Origin {
		return false
	}
	if (a.DB == nil) != (b.DB == nil) || a.DB != nil && *a.DB != *b.DB {
		return false
	}
	if len(a.Credentials) != len(b.Credentials) {
		return false
	}
	for i := range a.Credentials {
		x, y := a.Credentials[i], b.Credentials[i]
		if x.ID != y.ID || x.Digest != y.Digest || !x.ExpiresAt.Equal(y.ExpiresAt) {
			return false
		}
	}
	return true
}
