package model

import "fmt"

// SourcePart is one source's last good Part.
type SourcePart struct {
	Source string
	Part   Part
}

// Merge combines parts, given in precedence order (file, then the store
// or etcd, then Kubernetes), into one snapshot. An entry is never allowed
// to spoil the others: a tenant that is invalid, or that a source earlier
// in the order already defines, or that conflicts with an accepted tenant
// (shared DB, unpinned on a shared upstream) is left out and listed in
// Problems. Tenants are admitted in precedence order, so a later source
// can never change the isolation of an earlier source's tenant.
func Merge(parts []SourcePart, c Checks) *Snapshot {
	s := &Snapshot{
		Upstreams: map[string]Upstream{},
		Tokens:    Tokens{EndSessionsAtExpiry: true},
		Revoked:   map[string]bool{},
	}
	tokensFrom, defaultsFrom := "", ""
	upFrom := map[string]string{}
	for _, sp := range parts {
		s.Problems = append(s.Problems, sp.Part.Problems...)
		for name, u := range sp.Part.Upstreams {
			if first, dup := upFrom[name]; dup {
				s.Problems = append(s.Problems, Problem{Source: sp.Source, Entry: "upstream " + name,
					Msg: fmt.Sprintf("already defined by source %s, which takes precedence", first)})
				continue
			}
			u.Name = name
			s.Upstreams[name], upFrom[name] = u, sp.Source
		}
		if sp.Part.Tokens != nil {
			if tokensFrom == "" {
				s.Tokens, tokensFrom = *sp.Part.Tokens, sp.Source
			} else {
				s.Problems = append(s.Problems, Problem{Source: sp.Source, Entry: "tokens",
					Msg: fmt.Sprintf("token settings already come from source %s", tokensFrom)})
			}
		}
		if sp.Part.TenantDefaults != nil {
			if defaultsFrom == "" {
				s.TenantDefaults, defaultsFrom = *sp.Part.TenantDefaults, sp.Source
			} else {
				s.Problems = append(s.Problems, Problem{Source: sp.Source, Entry: "limits.tenant_defaults",
					Msg: fmt.Sprintf("tenant defaults already come from source %s", defaultsFrom)})
			}
		}
		for _, id := range sp.Part.Revoked {
			s.Revoked[id] = true
		}
	}
	s.indexUpstreams()
	total := 0
	for _, sp := range parts {
		total += len(sp.Part.Tenants)
	}
	// Capacity for every tenant up front: the groups point into the list,
	// which must not move while it grows.
	s.Tenants = make([]Tenant, 0, total)
	s.byName = make(map[string]int, total)

	// Policy compilation is the costly check; most tenants share rules.
	checked := map[string]error{}
	cc := c
	if c.Commands != nil {
		cc.Commands = func(rules string) error {
			err, ok := checked[rules]
			if !ok {
				err = c.Commands(rules)
				checked[rules] = err
			}
			return err
		}
	}
	for _, sp := range parts {
		for _, t := range sp.Part.Tenants {
			// No copy: parts are immutable, so the snapshot may share
			// their slices.
			if t.Source == "" {
				t.Source = sp.Source
			}
			if i, dup := s.byName[t.Name]; dup {
				first := s.Tenants[i].Source
				msg := fmt.Sprintf("already defined by source %s, which takes precedence", first)
				if first == t.Source {
					msg = "duplicate tenant"
				}
				s.Problems = append(s.Problems, Problem{Source: t.Source, Entry: "tenant " + t.Name, Msg: msg})
				continue
			}
			if errs := ValidateTenant(&t, s.Upstreams, cc); len(errs) > 0 {
				for _, fe := range errs {
					s.Problems = append(s.Problems, Problem{Source: t.Source, Entry: "tenant " + t.Name, Path: fe.Path, Msg: fe.Msg})
				}
				continue
			}
			if fe := s.conflict(&t); fe != nil {
				s.Problems = append(s.Problems, Problem{Source: t.Source, Entry: "tenant " + t.Name, Path: fe.Path, Msg: fe.Msg})
				continue
			}
			s.admit(t)
		}
	}
	return s
}

// admit adds an accepted tenant.
func (s *Snapshot) admit(t Tenant) {
	s.Tenants = append(s.Tenants, t)
	i := len(s.Tenants) - 1
	s.byName[t.Name] = i
	if g := s.group(t.Upstream); g != nil {
		g.add(&s.Tenants[i])
	}
}
