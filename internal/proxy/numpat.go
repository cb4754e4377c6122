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

// tenantPatterns is PUBSUB NUMPAT's answer for this session's tenant (the
// session's own patterns while it has no identity, which a logged-in
// session always has).
func (in *inspector) tenantPatterns() int {
	if id := in.cn.sess.Identity(); id != nil {
		return in.srv.reg.tenantPatternCount(id.Tenant, in.route.Target.Address)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.subs[subPattern])
}
