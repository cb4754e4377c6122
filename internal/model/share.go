package model

import "fmt"

// conflict is what is wrong with t next to the tenants already in s (a
// tenant of t's name excepted: t replaces it). On a shared upstream every
// tenant is pinned to a DB of its own:
//   - a tenant without db there would use DB 0 unpinned (or, with role
//     full, expect the server to itself): refused;
//   - a tenant joining an upstream where one without db already is:
//     refused (the first one would silently become shared);
//   - two tenants on the same DB see each other's keys: refused unless
//     both opt in with share_db.
func (s *Snapshot) conflict(t *Tenant) *FieldError {
	g := s.group(t.Upstream)
	if g == nil {
		return nil
	}
	others := g.n
	if i, self := s.byName[t.Name]; self && s.group(s.Tenants[i].Upstream) == g {
		others--
	}
	if others == 0 && len(g.names) < 2 {
		return nil // the upstream is t's alone
	}
	if t.DB == nil {
		why := ""
		if o := g.other(t.Name); o != nil {
			why = fmt.Sprintf("is shared with tenant %q", o.Name)
		} else {
			for _, n := range g.names {
				if n != t.Upstream {
					why = fmt.Sprintf("has the same address as upstream %q", n)
					break
				}
			}
		}
		if t.Role == RoleFull {
			return &FieldError{"role", fmt.Sprintf("role full without db needs an upstream of its own; upstream %q %s", t.Upstream, why)}
		}
		return &FieldError{"db", fmt.Sprintf("required on a shared upstream: upstream %q %s, and without db the tenant would use DB 0 unpinned", t.Upstream, why)}
	}
	for _, o := range g.noDB {
		if o.Name != t.Name {
			return &FieldError{"upstream", fmt.Sprintf("upstream %q is used by tenant %q without db; a second tenant there needs that one pinned to a DB first", t.Upstream, o.Name)}
		}
	}
	for _, o := range g.onDB(*t.DB) {
		if o.Name != t.Name && !(t.ShareDB && o.ShareDB) {
			return &FieldError{"db", fmt.Sprintf("%d on upstream %q is tenant %q's DB (they would see each other's keys); set share_db: true on both tenants to share it on purpose", *t.DB, t.Upstream, o.Name)}
		}
	}
	return nil
}

// other returns a tenant in g other than name (for messages).
func (g *group) other(name string) *Tenant {
	for _, o := range g.noDB {
		if o.Name != name {
			return o
		}
	}
	for db := range g.byDB {
		for _, o := range g.onDB(db) {
			if o.Name != name {
				return o
			}
		}
	}
	return nil
}
