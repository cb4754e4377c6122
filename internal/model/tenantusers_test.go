package model

import (
	"strings"
	"testing"
)

// A tenant's own upstream login follows its upstream's tenant_users: a
// provided upstream needs a user and (but for aws-iam) a password, which
// only the file can carry, so a store tenant there is left out with a
// reason; a user on any other upstream is refused.
func TestMergeTenantUsers(t *testing.T) {
	u := ups("prov", "127.0.0.1:1", "iam", "127.0.0.1:2", "man", "127.0.0.1:3", "plain", "127.0.0.1:4")
	for name, mode := range map[string]string{"prov": TenantUsersProvided, "iam": TenantUsersProvided, "man": TenantUsersManaged} {
		x := u[name]
		x.TenantUsers = mode
		u[name] = x
	}
	iam := u["iam"]
	iam.Auth.Mode = AuthAWSIAM
	u["iam"] = iam
	file := Part{Upstreams: u, Tenants: []Tenant{
		{Name: "f-prov", Upstream: "prov", DB: db(1), Role: RoleReadWrite, UpstreamUser: "app-f", UpstreamPassword: "pw"},
		{Name: "f-iam", Upstream: "iam", DB: db(0), Role: RoleReadWrite, UpstreamUser: "app-iam"},
		{Name: "f-nopass", Upstream: "prov", DB: db(2), Role: RoleReadWrite, UpstreamUser: "app-n"},
		{Name: "f-plainuser", Upstream: "plain", DB: db(1), Role: RoleReadWrite, UpstreamUser: "app-p", UpstreamPassword: "pw"},
		{Name: "f-strict", Upstream: "man", DB: db(1), Role: RoleReadWriteStrict},
	}}
	store := Part{Tenants: []Tenant{
		{Name: "s-man", Upstream: "man", DB: db(2), Role: RoleReadWrite},
		{Name: "s-prov", Upstream: "prov", DB: db(3), Role: RoleReadWrite},
	}}
	s := Merge([]SourcePart{{SourceFile, file}, {SourceStore, store}}, Checks{})
	if got, want := names(s), "f-prov@file,f-iam@file,f-strict@file,s-man@store"; got != want {
		t.Errorf("tenants %q, want %q", got, want)
	}
	got := problems(s)
	for _, want := range []string{
		`tenant f-nopass: upstream_password_env: required: upstream "prov" has tenant_users: provided`,
		`tenant f-plainuser: upstream_user: only used when upstream "plain" has tenant_users: provided`,
		`tenant s-prov: upstream_user: required: upstream "prov" has tenant_users: provided`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant %q", got, want)
		}
	}
}
