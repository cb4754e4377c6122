package config

import (
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// Part turns a loaded, validated configuration into the file source's
// part of the model. The YAML schema stops here: the gateway is built from
// the merged model and reads no config types for tenants, upstreams or
// tokens.
func (c *Config) Part() model.Part {
	p := model.Part{Upstreams: make(map[string]model.Upstream, len(c.Upstreams))}
	for name, u := range c.Upstreams {
		mu := modelUpstream(name, u.Address, u.TLS, u.Auth, u.MaxDB, u.DialTimeout.D())
		mu.TenantUsers = u.TenantUsers
		p.Upstreams[name] = mu
	}
	p.Tenants = make([]model.Tenant, 0, len(c.Tenants))
	for _, ct := range c.Tenants {
		t := model.Tenant{Name: ct.Name, Source: model.SourceFile, Upstream: ct.Upstream, DB: ct.DB,
			Role: ct.Role, Commands: ct.Commands, ShareDB: ct.ShareDB, EndSessionsAtExpiry: ct.EndSessionsAtExpiry,
			UpstreamUser: ct.UpstreamUser, UpstreamPassword: ct.UpstreamPassword,
			Limits: model.Limits(ct.TenantLimits)}
		if ct.SecretDigest != ([32]byte{}) {
			t.Credentials = append(t.Credentials, model.Credential{ID: model.DefaultCredentialID, Digest: ct.SecretDigest})
		}
		for _, cr := range ct.Credentials {
			t.Credentials = append(t.Credentials, model.Credential{ID: cr.ID, Digest: cr.Digest, ExpiresAt: cr.Expires})
		}
		p.Tenants = append(p.Tenants, t)
	}
	tk := c.Tokens
	d := tk.UpstreamDefaults
	mt := &model.Tokens{
		LegacySecret:        tk.LegacySecret,
		AllowUpstreams:      tk.AllowUpstreams,
		UpstreamDefaults:    modelUpstream("", "", d.TLS, d.Auth, nil, d.DialTimeout.D()),
		DefaultTTL:          tk.DefaultTTL.D(),
		EndSessionsAtExpiry: tk.EndSessionsAtExpiry == nil || *tk.EndSessionsAtExpiry,
	}
	for _, k := range tk.Keys {
		mt.Keys = append(mt.Keys, model.TokenKey{ID: k.ID, Secret: k.Secret})
	}
	p.Tokens = mt
	defaults := model.Limits(c.Limits.TenantDefaults)
	p.TenantDefaults = &defaults
	p.Revoked = tk.Revoked
	return p
}

func modelUpstream(name, addr string, tc UpstreamTLS, a UpstreamAuth, maxDB *int, dial time.Duration) model.Upstream {
	u := model.Upstream{
		Name: name, Address: addr, MaxDB: model.DefaultMaxDB,
		TLS: model.UpstreamTLS{Enabled: tc.Enabled, CAFile: tc.CAFile, ServerName: tc.ServerName, InsecureSkipVerify: tc.InsecureSkipVerify},
		Auth: model.UpstreamAuth{Mode: a.Mode, Username: a.Username, Password: a.Password, CacheName: a.CacheName,
			Region: a.Region, Serverless: a.Serverless, TokenLifetime: a.TokenLifetime.D(),
			ReauthInterval: a.ReauthInterval.D(), MaxConnectionAge: a.MaxConnectionAge.D()},
	}
	u.DialTimeout = dial
	if maxDB != nil {
		u.MaxDB = *maxDB
	}
	return u
}
