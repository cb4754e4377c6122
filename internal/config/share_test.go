package config

import "testing"

func TestSharedAndPassThrough(t *testing.T) {
	ups := map[string]Upstream{
		"solo":  {Address: "10.0.0.1:6379"},
		"multi": {Address: "10.0.0.2:6379"},
		"a":     {Address: "cache.example:6379"},
		"a2":    {Address: "CACHE.example.:6379"}, // same server, other spelling
		"empty": {Address: "10.0.0.3:6379"},
	}
	tenants := []Tenant{
		{Name: "owner", Upstream: "solo", Role: RoleFull},
		{Name: "m1", Upstream: "multi", Role: RoleFull, DB: intp(1)},
		{Name: "m2", Upstream: "multi", Role: RoleReadWrite, DB: intp(2)},
		{Name: "alias", Upstream: "a", Role: RoleFull},
		{Name: "rw", Upstream: "solo", Role: RoleReadWrite},
	}
	c := &Config{Upstreams: ups, Tenants: tenants}
	// "solo" has owner and rw: shared. Rebuild per case for clarity.
	tests := []struct {
		desc       string
		tenants    []int // which of the tenants above are configured
		upstream   string
		wantShared bool
		tenant     int // index into tenants, checked for PassThrough
		wantPass   bool
	}{
		{"one full tenant owns its upstream", []int{0}, "solo", false, 0, true},
		{"second tenant makes it shared", []int{0, 4}, "solo", true, 0, false},
		{"readwrite alone is never pass-through", []int{4}, "solo", false, 4, false},
		{"two tenants with dbs", []int{1, 2}, "multi", true, 1, false},
		{"same address under two names", []int{3}, "a", true, 3, false},
		{"the other name is shared too", []int{3}, "a2", true, 3, false},
		{"upstream nobody uses", []int{0}, "empty", false, 0, true},
		{"full with db alone is pinned, not pass-through", []int{1}, "multi", false, 1, false},
		{"unknown upstream", []int{0}, "nope", false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c.Tenants = nil
			for _, i := range tt.tenants {
				c.Tenants = append(c.Tenants, tenants[i])
			}
			if got := c.Shared(tt.upstream); got != tt.wantShared {
				t.Errorf("Shared(%q) = %v, want %v", tt.upstream, got, tt.wantShared)
			}
			tn := tenants[tt.tenant]
			if got := tn.PassThrough(c); got != tt.wantPass {
				t.Errorf("%s.PassThrough = %v, want %v", tn.Name, got, tt.wantPass)
			}
		})
	}
}
