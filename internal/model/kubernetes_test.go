package model

import "testing"

// A name defined by the file, the store and Kubernetes: the file keeps it,
// the two others are conflicts naming the winner; a duplicate inside one
// source is a problem but not a conflict. "namespace/name" is a valid
// tenant name from Kubernetes only.
func TestMergeConflictsAndSecretNames(t *testing.T) {
	cred := []Credential{{ID: "a", Digest: [32]byte{1}}}
	file := Part{Upstreams: ups("main", "127.0.0.1:6379"), Tenants: []Tenant{{Name: "orders", Upstream: "main", DB: db(1), Role: RoleReadWrite, Credentials: cred}}}
	store := Part{Tenants: []Tenant{{Name: "orders", Upstream: "main", DB: db(2), Role: RoleReadWrite, Credentials: cred}}}
	kube := Part{Tenants: []Tenant{
		{Name: "orders", Upstream: "main", DB: db(3), Role: RoleReadWrite, Credentials: cred},
		{Name: "team-a/billing", Upstream: "main", DB: db(4), Role: RoleReadWrite, Credentials: cred},
		{Name: "team-a/billing", Upstream: "main", DB: db(5), Role: RoleReadWrite, Credentials: cred},
	}}
	bad := Part{Tenants: []Tenant{{Name: "team-b/x", Upstream: "main", DB: db(6), Role: RoleReadWrite, Credentials: cred}}}
	s := Merge([]SourcePart{{SourceFile, file}, {SourceStore, store}, {SourceKubernetes, kube}, {SourceEtcd, bad}}, Checks{})
	if got := names(s); got != "orders@file,team-a/billing@kubernetes" {
		t.Fatalf("tenants %s\n%s", got, problems(s))
	}
	conflicts := map[string]string{}
	for _, p := range s.Problems {
		if p.ConflictWith != "" {
			conflicts[p.Source+" "+p.Entry] = p.ConflictWith
		}
	}
	want := map[string]string{"store tenant orders": "file", "kubernetes tenant orders": "file"}
	if len(conflicts) != len(want) || conflicts["store tenant orders"] != "file" || conflicts["kubernetes tenant orders"] != "file" {
		t.Fatalf("conflicts %v, want %v\n%s", conflicts, want, problems(s))
	}
	if len(s.Problems) != 4 { // two conflicts, one duplicate, one bad name from etcd
		t.Fatalf("problems:\n%s", problems(s))
	}
}
