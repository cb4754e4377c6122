package proxy

// tenantPatternCount answers PUBSUB NUMPAT for a tenant on a shared
// upstream: the number of distinct patterns its live sessions on the
// upstream at address are subscribed to, which is what the server would
// answer if the tenant were alone on it (Redis counts distinct patterns).
// It must not be called with any inspector's mu held: it takes them.
func (r *Registry) tenantPatternCount(tenant, address string) int {
	r.mu.Lock()
	var ins []*inspector
	for _, s := range r.sessions {
		id := s.Identity()
		if id == nil || id.Tenant != tenant || id.Route.Target.Address != address {
			continue
		}
		if in := s.inspector.Load(); in != nil {
			ins = append(ins, in)
		}
	}
	r.mu.Unlock()
	set := map[string]struct{}{}
	for _, in := range ins {
		in.mu.Lock()
		for p := range in.subs[subPattern] {
			set[p] = struct{}{}
		}
		in.mu.Unlock()
	}
	return len(set)
}
