package model

import "sort"

// Snapshot is the merged, validated view the gateway is built from. It is
// immutable once Merge returns it: readers share it without locks, and a
// change makes a new one.
type Snapshot struct {
	// Upstreams by name, Name set.
	Upstreams map[string]Upstream
	// Tenants sorted by name, each valid alone and next to the others.
	Tenants []Tenant
	// Tokens are the token settings (defaults when no source has any).
	Tokens Tokens
	// Revoked holds revoked signed-token IDs from every source.
	Revoked map[string]bool
	// Problems are the entries left out, from the sources and from Merge.
	Problems []Problem

	byName map[string]int
	groups map[string]*group // by canonical upstream address
}

// group is everything on one upstream server: the upstream names that
// point at its address and the tenants on any of them.
type group struct {
	names   []string
	tenants map[string]*Tenant
	byDB    map[int][]*Tenant
	noDB    []*Tenant
}

func (g *group) add(t *Tenant) {
	if g.tenants == nil {
		g.tenants, g.byDB = map[string]*Tenant{}, map[int][]*Tenant{}
	}
	g.tenants[t.Name] = t
	if t.DB == nil {
		g.noDB = append(g.noDB, t)
	} else {
		g.byDB[*t.DB] = append(g.byDB[*t.DB], t)
	}
}

// Tenant returns the tenant with the given name.
func (s *Snapshot) Tenant(name string) (*Tenant, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return &s.Tenants[i], true
}

// Shared reports whether a tenant on the named upstream could reach
// another tenant's data: more than one tenant uses the server, or two
// upstream names point at its address.
func (s *Snapshot) Shared(upstream string) bool {
	g := s.groupOf(upstream)
	return g != nil && (len(g.tenants) > 1 || len(g.names) > 1)
}

// PassThrough reports whether t's sessions may be relayed untouched: role
// full, no DB pinned, on an upstream nobody else can reach.
func (s *Snapshot) PassThrough(t *Tenant) bool {
	return t.Role == RoleFull && t.DB == nil && !s.Shared(t.Upstream)
}

// Isolated reports whether t's sessions get the isolation rules (pinned
// DB, prefixed channels, refused cross-DB commands): always with a DB,
// and on a shared upstream. Isolation never depends on when a session
// started: a change of this answer ends the session (tenant.StillValid).
func (s *Snapshot) Isolated(t *Tenant) bool {
	return t.DB != nil || s.Shared(t.Upstream)
}

func (s *Snapshot) groupOf(upstream string) *group {
	u, ok := s.Upstreams[upstream]
	if !ok {
		return nil
	}
	return s.groups[CanonicalAddr(u.Address)]
}

// Check validates t as it would be merged into s, replacing a tenant of the
// same name: the admin API runs it before writing to the store, so a PUT
// that Merge would skip is refused with the reasons instead.
func (s *Snapshot) Check(t *Tenant, c Checks) []FieldError {
	errs := ValidateTenant(t, s.Upstreams, c)
	if len(errs) > 0 {
		return errs
	}
	if fe := s.conflict(t); fe != nil {
		errs = append(errs, *fe)
	}
	return errs
}

// index rebuilds the lookup tables after Tenants changed.
func (s *Snapshot) index() {
	sort.Slice(s.Tenants, func(i, j int) bool { return s.Tenants[i].Name < s.Tenants[j].Name })
	s.byName = make(map[string]int, len(s.Tenants))
	s.groups = make(map[string]*group)
	names := make([]string, 0, len(s.Upstreams))
	for n := range s.Upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		key := CanonicalAddr(s.Upstreams[n].Address)
		g := s.groups[key]
		if g == nil {
			g = &group{}
			s.groups[key] = g
		}
		g.names = append(g.names, n)
	}
	for i := range s.Tenants {
		t := &s.Tenants[i]
		s.byName[t.Name] = i
		if g := s.groupOf(t.Upstream); g != nil {
			g.add(t)
		}
	}
}
