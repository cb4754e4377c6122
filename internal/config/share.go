package config

import "github.com/redoubt-proxy/redoubt/internal/model"

// An upstream is shared when a tenant on it could reach another tenant's
// data: more than one tenant names it, or another upstream entry points at
// the same address (two names, one server). Shared upstreams are always
// inspected, with each tenant pinned to its DB; only a tenant that owns
// its upstream gets pass-through. The proxy and Validate use these same
// functions, so `check` refuses exactly what the proxy would not isolate.
//
// Addresses are compared as written (host lowercased): "localhost:6379"
// and "127.0.0.1:6379" are not recognized as the same server.

// Shared reports whether the upstream named upstream is shared.
func (c *Config) Shared(upstream string) bool {
	_, _, shared := c.sharedWith(upstream, -1)
	return shared
}

// PassThrough reports whether t's sessions may be relayed untouched: role
// full, no db (a tenant with db is always pinned), on an upstream nobody
// else can reach. The gateway decides on the merged view of every source
// (model.Snapshot.PassThrough); this is the file's view alone.
func (t *Tenant) PassThrough(c *Config) bool {
	return t.Role == RoleFull && t.DB == nil && !c.Shared(t.Upstream)
}

// sharedWith explains why upstream is shared, from the point of view of
// the tenant at index self (-1 for none): another tenant on the same
// upstream (or on another entry for the same address), else the name of an
// upstream entry with the same address.
func (c *Config) sharedWith(upstream string, self int) (tenant, sameAddr string, shared bool) {
	u, ok := c.Upstreams[upstream]
	if !ok {
		return "", "", false
	}
	addr := model.CanonicalAddr(u.Address)
	aliases := map[string]bool{upstream: true}
	for _, name := range c.upstreamNames() {
		if name != upstream && model.CanonicalAddr(c.Upstreams[name].Address) == addr {
			aliases[name] = true
			if sameAddr == "" {
				sameAddr = name
			}
		}
	}
	users := 0
	for i, t := range c.Tenants {
		if !aliases[t.Upstream] {
			continue
		}
		users++
		if i != self && tenant == "" {
			tenant = t.Name
		}
	}
	return tenant, sameAddr, users > 1 || sameAddr != ""
}
