package tenant

import (
	"fmt"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/limit"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// CredsFunc returns the upstream credentials for an auth block. The caller
// supplies it because AWS IAM credentials need process-wide providers.
type CredsFunc func(upstreamName string, a model.UpstreamAuth) (upstream.Credentials, error)

// Build turns a merged snapshot into a directory. It reads nothing but the
// snapshot: which source a tenant came from does not matter here.
func Build(snap *model.Snapshot, creds CredsFunc, now func() time.Time) (*Directory, error) {
	return BuildWith(snap, Options{Creds: creds, Now: now})
}

// Options are Build's inputs besides the snapshot.
type Options struct {
	// Prev is the directory in force: what it built for unchanged upstreams
	// and tenants is reused, and its Usage handed on (nil: build all).
	Prev *Directory
	// Usage records when each credential last logged in (nil: not
	// recorded, unless Prev has one).
	Usage *Usage
	Creds CredsFunc
	Now   func() time.Time
	// Managed gives the logins of managed per-tenant upstream users
	// (tenant_users: managed); nil (redoubt check) leaves such tenants
	// on the upstream's own login, with scripts refused.
	Managed ManagedCredsFunc
}

// BuildWith is Build with every option.
func BuildWith(snap *model.Snapshot, o Options) (*Directory, error) {
	prev, creds, now, usage := o.Prev, o.Creds, o.Now, o.Usage
	if usage == nil && prev != nil {
		usage = prev.usage
	}
	if creds == nil {
		creds = func(_ string, a model.UpstreamAuth) (upstream.Credentials, error) {
			return upstream.StaticCreds(configAuth(a)), nil
		}
	}
	if now == nil {
		now = time.Now
	}
	targets := make(map[string]*upstream.Target, len(snap.Upstreams))
	built := make(map[string]builtTarget, len(snap.Upstreams))
	for name, u := range snap.Upstreams {
		if prev != nil {
			if b, ok := prev.targets[name]; ok && b.from == u {
				targets[name], built[name] = b.t, b
				continue
			}
		}
		t, err := buildTarget(name, u.Address, u.TLS, u.Auth, u.DialTimeout, creds)
		if err != nil {
			return nil, err
		}
		targets[name], built[name] = t, builtTarget{from: u, t: t}
	}
	// Compiling a policy is the costly step; tenants mostly share rules.
	policies := map[[2]string]*policy.Policy{}
	tenants := make([]*Tenant, 0, len(snap.Tenants))
	for i := range snap.Tenants {
		mt := &snap.Tenants[i]
		endAt := snap.Tokens.EndSessionsAtExpiry
		if mt.EndSessionsAtExpiry != nil {
			endAt = *mt.EndSessionsAtExpiry
		}
		lim := routeLimits(snap.EffectiveLimits(mt))
		sig := tenantSig{target: targets[mt.Upstream], pass: snap.PassThrough(mt), shared: snap.Isolated(mt), endAt: endAt, limits: lim}
		if prev != nil && prev.usage == usage { // reused credentials keep their counters
			if old, ok := prev.byName[mt.Name]; ok && old.sig == sig && old.from.Equal(mt) {
				tenants = append(tenants, old) // immutable: safe to share
				continue
			}
		}
		key := [2]string{mt.Role, mt.Commands}
		pol, ok := policies[key]
		if !ok {
			var err error
			if pol, err = policy.Compile(mt.Role, mt.Commands); err != nil {
				return nil, fmt.Errorf("tenant %s: commands: %w", mt.Name, err)
			}
			policies[key] = pol
		}
		r := &Route{
			Target:      targets[mt.Upstream],
			PassThrough: snap.PassThrough(mt),
			Shared:      snap.Isolated(mt),
			Role:        mt.Role,
			Rules:       mt.Commands,
			Policy:      pol,
			DB:          mt.PinnedDB(),
			Limits:      lim,
		}
		if r.Target == nil {
			return nil, fmt.Errorf("tenant %s: unknown upstream %q", mt.Name, mt.Upstream)
		}
		u := snap.Upstreams[mt.Upstream]
		iamTimers(r, u.Auth)
		if err := withTenantUser(r, u, mt, creds, o.Managed); err != nil {
			return nil, err
		}
		t := &Tenant{Name: mt.Name, Source: mt.Source, Route: r, endAtExpiry: endAt, sig: sig, from: *mt}
		for _, c := range mt.Credentials {
			bc := credential{id: c.ID, digest: c.Digest, expires: c.ExpiresAt}
			if usage != nil {
				bc.used = usage.counter(mt.Name, c.ID)
			}
			t.creds = append(t.creds, bc)
		}
		tenants = append(tenants, t)
	}
	var tv TokenVerifier
	if len(snap.Tokens.Keys) > 0 || snap.Tokens.LegacySecret != "" {
		v, err := newTokenVerifier(snap, tenants, creds, now)
		if err != nil {
			return nil, err
		}
		tv = v
	}
	d := NewDirectory(tenants, tv)
	d.now = now
	d.targets = built
	d.usage = usage
	return d, nil
}

// builtTarget is an upstream's target and the model it was built from.
type builtTarget struct {
	from model.Upstream
	t    *upstream.Target
}

// tenantSig is what a built tenant depends on besides its own settings
// (model.Tenant.Equal): its upstream's target and what the snapshot says
// about it. Equal settings and signature: the old one can be reused.
type tenantSig struct {
	target       *upstream.Target
	pass, shared bool
	endAt        bool
	limits       limit.Limits // effective: a change of a default changes it too
}

func buildTarget(name, address string, tc model.UpstreamTLS, a model.UpstreamAuth, dialTimeout time.Duration, creds CredsFunc) (*upstream.Target, error) {
	tlsConf, err := upstream.ClientTLS(config.UpstreamTLS{Enabled: tc.Enabled, CAFile: tc.CAFile,
		ServerName: tc.ServerName, InsecureSkipVerify: tc.InsecureSkipVerify}, address)
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s.tls: %w", name, err)
	}
	c, err := creds(name, a)
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s.auth: %w", name, err)
	}
	return &upstream.Target{Name: name, Address: address, TLS: tlsConf, Creds: c, DialTimeout: dialTimeout}, nil
}

// configAuth is the upstream package's view of a login (it predates the model).
func configAuth(a model.UpstreamAuth) config.UpstreamAuth {
	return config.UpstreamAuth{Mode: a.Mode, Username: a.Username, Password: a.Password}
}

// iamTimers sets the re-login schedule of routes to AWS IAM upstreams.
func iamTimers(r *Route, a model.UpstreamAuth) {
	if a.Mode != model.AuthAWSIAM {
		return
	}
	r.ReauthEvery = a.ReauthInterval
	r.MaxAge = a.MaxConnectionAge
}
