package model

import (
	"strings"
	"testing"
)

func db(n int) *int { return &n }

func ups(addrs ...string) map[string]Upstream {
	m := map[string]Upstream{}
	for i := 0; i+1 < len(addrs); i += 2 {
		m[addrs[i]] = Upstream{Address: addrs[i+1], MaxDB: DefaultMaxDB}
	}
	return m
}

func names(s *Snapshot) string {
	var out []string
	for _, t := range s.Tenants {
		out = append(out, t.Name+"@"+t.Source)
	}
	return strings.Join(out, ",")
}

func problems(s *Snapshot) string {
	var out []string
	for _, p := range s.Problems {
		out = append(out, p.Error())
	}
	return strings.Join(out, "\n")
}

// Each rule of a shared upstream, and who loses when two sources collide:
// the entry of the later source is left out with a reason, the rest stays.
func TestMergeRules(t *testing.T) {
	file := Part{Upstreams: ups("main", "127.0.0.1:6379", "own", "127.0.0.1:6380")}
	for _, tc := range []struct {
		desc        string
		file, store []Tenant
		want        string // accepted tenants
		problem     string // substring of the problems, "" = none
	}{
		{"tenants on distinct DBs", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite}},
			[]Tenant{{Name: "b", Upstream: "main", DB: db(2), Role: RoleReadOnly}}, "a@file,b@store", ""},
		{"same DB without opt-in", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite}},
			[]Tenant{{Name: "b", Upstream: "main", DB: db(1), Role: RoleReadWrite}}, "a@file", `store: tenant b: db: 1 on upstream "main" is tenant "a"'s DB`},
		{"same DB, only one opts in", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite}},
			[]Tenant{{Name: "b", Upstream: "main", DB: db(1), Role: RoleReadWrite, ShareDB: true}}, "a@file", "share_db"},
		{"same DB, both opt in", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite, ShareDB: true}},
			[]Tenant{{Name: "b", Upstream: "main", DB: db(1), Role: RoleReadWrite, ShareDB: true}}, "a@file,b@store", ""},
		{"non-full without db joins", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite}},
			[]Tenant{{Name: "b", Upstream: "main", Role: RoleReadWrite}}, "a@file", "tenant b: db: required on a shared upstream"},
		{"joining a tenant without db", []Tenant{{Name: "a", Upstream: "main", Role: RoleReadWrite}},
			[]Tenant{{Name: "b", Upstream: "main", DB: db(3), Role: RoleReadWrite}}, "a@file", `tenant b: upstream: upstream "main" is used by tenant "a" without db`},
		{"full without db on a shared upstream", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite}},
			[]Tenant{{Name: "b", Upstream: "main", Role: RoleFull}}, "a@file", "role full without db needs an upstream of its own"},
		{"name taken by the file", []Tenant{{Name: "a", Upstream: "main", DB: db(1), Role: RoleReadWrite}},
			[]Tenant{{Name: "a", Upstream: "own", Role: RoleFull}}, "a@file", "already defined by source file"},
		{"a store tenant on a file upstream, bad one skipped", nil,
			[]Tenant{{Name: "x", Upstream: "own", Role: RoleFull}, {Name: "y", Upstream: "nope", Role: RoleFull}, {Name: "z", Upstream: "main", DB: db(99), Role: RoleReadOnly}},
			"x@store", `unknown upstream "nope"`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := file
			f.Tenants = tc.file
			s := Merge([]SourcePart{{SourceFile, f}, {SourceStore, Part{Tenants: tc.store}}}, Checks{})
			if got := names(s); got != tc.want {
				t.Errorf("tenants %q, want %q (problems: %s)", got, tc.want, problems(s))
			}
			got := problems(s)
			if tc.problem == "" && got != "" || !strings.Contains(got, tc.problem) {
				t.Errorf("problems:\n%s\nwant %q", got, tc.problem)
			}
		})
	}
}

// Isolation is decided on the merged view: a lone tenant with db is
// isolated (never pass-through); one without db owns its upstream; a
// second tenant makes the upstream shared for both.
func TestSnapshotIsolation(t *testing.T) {
	base := Part{Upstreams: ups("main", "127.0.0.1:6379", "alias", "127.0.0.1:6379", "own", "127.0.0.1:6380")}
	base.Tenants = []Tenant{
		{Name: "pinned", Upstream: "main", DB: db(3), Role: RoleFull},
		{Name: "owner", Upstream: "own", Role: RoleFull},
	}
	s := Merge([]SourcePart{{SourceFile, base}}, Checks{})
	p, _ := s.Tenant("pinned")
	o, _ := s.Tenant("owner")
	if !s.Isolated(p) || s.PassThrough(p) {
		t.Error("a tenant with db must be isolated, never pass-through")
	}
	if s.Isolated(o) || !s.PassThrough(o) {
		t.Error("a full tenant alone on its upstream without db is pass-through")
	}
	if !s.Shared("main") || s.Shared("own") {
		t.Error("two upstream names on one address make it shared; own is not")
	}
}

// A tenant's credentials are checked with it: IDs valid and unique, each
// with a digest. A bad one leaves its tenant out, never the others.
func TestMergeCredentials(t *testing.T) {
	p := Part{Upstreams: ups("a", "127.0.0.1:1", "b", "127.0.0.1:2", "c", "127.0.0.1:3")}
	p.Tenants = []Tenant{
		{Name: "dup", Upstream: "a", Role: RoleFull, Credentials: []Credential{{ID: "x", Digest: [32]byte{1}}, {ID: "x", Digest: [32]byte{2}}}},
		{Name: "nodigest", Upstream: "b", Role: RoleFull, Credentials: []Credential{{ID: "x"}}},
		{Name: "fine", Upstream: "c", Role: RoleFull, Credentials: []Credential{{ID: "x", Digest: [32]byte{1}}, {ID: "y", Digest: [32]byte{2}}}},
	}
	s := Merge([]SourcePart{{SourceStore, p}}, Checks{})
	if got := names(s); got != "fine@store" {
		t.Fatalf("tenants %q", got)
	}
	got := problems(s)
	for _, want := range []string{`tenant dup: credentials[1].id: duplicate credential "x"`, "tenant nodigest: credentials[0]: no secret"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant %q", got, want)
		}
	}
}

func TestFreeDB(t *testing.T) {
	up := ups("main", "127.0.0.1:1", "alias", "127.0.0.1:1", "solo", "127.0.0.1:2", "tiny", "127.0.0.1:3")
	tiny := up["tiny"]
	tiny.MaxDB = 1
	up["tiny"] = tiny
	s := Merge([]SourcePart{{SourceFile, Part{Upstreams: up, Tenants: []Tenant{
		{Name: "a", Upstream: "main", DB: db(0), Role: RoleReadWrite},
		{Name: "b", Upstream: "alias", DB: db(1), Role: RoleReadWrite},
		{Name: "c", Upstream: "solo", Role: RoleFull},
		{Name: "d", Upstream: "tiny", DB: db(0), Role: RoleReadWrite},
		{Name: "e", Upstream: "tiny", DB: db(1), Role: RoleReadWrite},
	}}}}, Checks{})
	for _, tc := range []struct {
		upstream string
		want     int
		ok       bool
	}{{"main", 2, true}, {"alias", 2, true}, {"solo", 0, false}, {"tiny", 0, false}, {"nope", 0, false}} {
		if got, ok := s.FreeDB(tc.upstream); got != tc.want || ok != tc.ok {
			t.Errorf("FreeDB(%s) = %d %v, want %d %v", tc.upstream, got, ok, tc.want, tc.ok)
		}
	}
}
