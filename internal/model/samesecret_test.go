package model

import (
	"strings"
	"testing"
	"time"
)

// AUTH <secret> finds its tenant by the secret alone, so no two
// credentials may share one: across tenants (a client would land in the
// other tenant's DB) or within a tenant (an expired credential shadowed a
// live one with the same secret, refusing a valid login). The tenant that
// comes later is left out, and the message names neither the other tenant
// nor the secret.
func TestMergeRefusesASecretHeldTwice(t *testing.T) {
	file := Part{Upstreams: ups("main", "127.0.0.1:6379")}
	shared := [32]byte{7}
	file.Tenants = []Tenant{
		{Name: "filer", Upstream: "main", DB: db(1), Role: RoleReadWrite, Credentials: []Credential{{ID: "default", Digest: shared}}},
		{Name: "copycat", Upstream: "main", DB: db(2), Role: RoleReadWrite, Credentials: []Credential{{ID: "k", Digest: shared}}},
		{Name: "self", Upstream: "main", DB: db(3), Role: RoleReadWrite, Credentials: []Credential{
			{ID: "old", Digest: [32]byte{9}, ExpiresAt: time.Unix(1, 0)}, {ID: "new", Digest: [32]byte{9}}}},
		{Name: "fine", Upstream: "main", DB: db(4), Role: RoleReadWrite, Credentials: []Credential{{ID: "a", Digest: [32]byte{1}}, {ID: "b", Digest: [32]byte{2}}}},
	}
	store := Part{Tenants: []Tenant{{Name: "late", Upstream: "main", DB: db(5), Role: RoleReadWrite, Credentials: []Credential{{ID: "c", Digest: [32]byte{1}}}}}}
	s := Merge([]SourcePart{{SourceFile, file}, {SourceStore, store}}, Checks{})
	if got := names(s); got != "filer@file,fine@file" {
		t.Fatalf("admitted %s\n%s", got, problems(s))
	}
	p := problems(s)
	for _, want := range []string{"tenant copycat: credentials[0]: has the same secret", "tenant self: credentials[1]: has the same secret", "tenant late: credentials[0]: has the same secret"} {
		if !strings.Contains(p, want) {
			t.Errorf("missing %q in\n%s", want, p)
		}
	}
	if strings.Contains(p, "filer") || strings.Contains(p, "fine") {
		t.Errorf("a problem names the tenant whose secret was reused:\n%s", p)
	}
}
