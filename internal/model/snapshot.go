package model

import "sort"

// Snapshot is the merged, validated view the gateway is built from. It is
// immutable once Merge returns it: readers share it without locks, and a
// change makes a new one.
type Snapshot struct {
	// Upstreams by name, Name set.
	Upstreams map[string]Upstream
	// Tenants in precedence order (sources in order, each source's
	// tenants in its order), each valid alone and next to the others.
	Tenants []Tenant
	// Tokens are the token settings (defaults when no source has any).
	Tokens Tokens
	// TenantDefaults fill the fair-sharing limits a tenant leaves out
	// (EffectiveLimits).
	TenantDefaults Limits
	// Revoked holds revoked signed-token IDs from every source.
	Revoked map[string]bool
	// Problems are the entries left out, from the sources and from Merge.
	Problems []Problem

	byName  map[string]int
	groups  map[string]*group // by canonical upstream address
	groupOf map[string]*group // by upstream name (the same groups)
}

// group is everything on one upstream server: the upstream names that
// point at its address and the tenants on any of them.
type group struct {
	names []string
	n     int               // tenants on the server
	byDB  map[int]*Tenant   // the first tenant on each DB
	more  map[int][]*Tenant // further tenants on a DB (share_db)
	noDB  []*Tenant
}

func (g *group) add(t *Tenant) {
	g.n++
	if t.DB == nil {
		g.noDB = append(g.noDB, t)
		return
	}
	if g.byDB == nil {
		g.byDB = map[int]*Tenant{}
	}
	if _, taken := g.byDB[*t.DB]; !taken {
		g.byDB[*t.DB] = t
		return
	}
	if g.more == nil {
		g.more = map[int][]*Tenant{}
	}
	g.more[*t.DB] = append(g.more[*t.DB], t)
}

// onDB returns the tenants on one DB.
func (g *group) onDB(db int) []*Tenant {
	first, ok := g.byDB[db]
	if !ok {
		return nil
	}
	return append([]*Tenant{first}, g.more[db]...)
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
	g := s.group(upstream)
	return g != nil && (g.n > 1 || len(g.names) > 1)
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

func (s *Snapshot) group(upstream string) *group { return s.groupOf[upstream] }

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

// indexUpstreams makes one empty group per upstream server.
func (s *Snapshot) indexUpstreams() {
	s.groups = make(map[string]*group)
	s.groupOf = make(map[string]*group, len(s.Upstreams))
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
		s.groupOf[n] = g
	}
}

// Names returns the tenant names sorted.
func (s *Snapshot) Names() []string {
	out := make([]string, 0, len(s.Tenants))
	for i := range s.Tenants {
		out = append(out, s.Tenants[i].Name)
	}
	sort.Strings(out)
	return out
}

// FreeDB returns the lowest DB index on the named upstream's server that
// no tenant uses (for the service broker's provisioning), or false when
// every index up to the upstream's max_db is taken, the upstream is
// unknown, or a tenant without db holds the whole server.
func (s *Snapshot) FreeDB(upstream string) (int, bool) {
	u, ok := s.Upstreams[upstream]
	g := s.group(upstream)
	if !ok || g == nil || len(g.noDB) > 0 {
		return 0, false
	}
	for db := 0; db <= u.MaxDB; db++ {
		if _, taken := g.byDB[db]; !taken {
			return db, true
		}
	}
	return 0, false
}
