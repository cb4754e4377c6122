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
	tokensFrom := ""
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
		for _, id := range sp.Part.Revoked {
			s.Revoked[id] = true
		}
	}
	s.index() // upstream groups, no tenants yet

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
	from := map[string]string{}
	for _, sp := range parts {
		for _, in := range sp.Part.Tenants {
			t := in.Clone()
			if t.Source == "" {
				t.Source = sp.Source
			}
			entry := "tenant " + t.Name
			if first, dup := from[t.Name]; dup {
				msg := fmt.Sprintf("already defined by source %s, which takes precedence", first)
				if first == t.Source {
					msg = "duplicate tenant"
				}
				s.Problems = append(s.Problems, Problem{Source: t.Source, Entry: entry, Msg: msg})
				continue
			}
			if errs := ValidateTenant(&t, s.Upstreams, cc); len(errs) > 0 {
				for _, fe := range errs {
					s.Problems = append(s.Problems, Problem{Source: t.Source, Entry: entry, Path: fe.Path, Msg: fe.Msg})
				}
				continue
			}
			if fe := s.conflict(&t); fe != nil {
				s.Problems = append(s.Problems, Problem{Source: t.Source, Entry: entry, Path: fe.Path, Msg: fe.Msg})
				continue
			}
			from[t.Name] = t.Source
			s.admit(t)
		}
	}
	s.index()
	return s
}

// admit adds an accepted tenant. Tenants is re-sorted by index at the
// end; until then the groups point into a list that may grow, so they
// hold copies.
func (s *Snapshot) admit(t Tenant) {
	s.Tenants = append(s.Tenants, t)
	if g := s.groupOf(t.Upstream); g != nil {
		c := t
		g.add(&c)
	}
}
