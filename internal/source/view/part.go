package view

import "github.com/redoubt-proxy/redoubt/internal/model"

// Part converts a view into what the control plane merges. entryKind
// prefixes each problem's entry ("Secret", "key") so that a log line or
// metric names the Secret's namespace/name or the etcd key.
func (v *View) Part(source, entryKind string) model.Part {
	// The generation tells the control plane that a Load which returns
	// a view it already merged (after an API write waited for it) needs
	// no second rebuild.
	p := model.Part{Tenants: make([]model.Tenant, 0, len(v.Tenants)), Version: v.Generation}
	for _, t := range v.Tenants {
		mt := model.Tenant{
			Name: t.Name, Source: source, Upstream: t.Upstream, DB: t.DB, Role: t.Role, Commands: t.Commands,
			ShareDB: t.ShareDB, EndSessionsAtExpiry: t.EndSessionsAtExpiry,
			Credentials: make([]model.Credential, len(t.Credentials)),
		}
		for i, c := range t.Credentials {
			mt.Credentials[i] = model.Credential{ID: c.ID, Digest: c.Digest, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
		}
		p.Tenants = append(p.Tenants, mt)
	}
	for _, r := range v.Rejected {
		p.Problems = append(p.Problems, model.Problem{Source: source, Entry: entryKind + " " + r.Entry, Path: r.Field, Msg: r.Reason})
	}
	return p
}
