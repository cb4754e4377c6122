package tenant

import (
	"fmt"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/policy"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// CredsFunc returns the upstream credentials for an auth block. The caller
// supplies it because AWS IAM credentials need process-wide providers.
type CredsFunc func(upstreamName string, a config.UpstreamAuth) (upstream.Credentials, error)

// Build turns a validated configuration into a directory.
func Build(cfg *config.Config, creds CredsFunc, now func() time.Time) (*Directory, error) {
	return BuildWith(cfg, creds, nil, now)
}

// BuildWith is Build with the logins of managed per-tenant upstream users
// (upstreams.NAME.tenant_users: managed).
func BuildWith(cfg *config.Config, creds CredsFunc, managed ManagedCredsFunc, now func() time.Time) (*Directory, error) {
	if creds == nil {
		creds = func(_ string, a config.UpstreamAuth) (upstream.Credentials, error) {
			return upstream.StaticCreds(a), nil
		}
	}
	targets := make(map[string]*upstream.Target, len(cfg.Upstreams))
	for name, u := range cfg.Upstreams {
		t, err := buildTarget(name, u.Address, u.TLS, u.Auth, u.DialTimeout.D(), creds)
		if err != nil {
			return nil, err
		}
		targets[name] = t
	}
	var tenants []*Tenant
	for i := range cfg.Tenants {
		ct := &cfg.Tenants[i]
		pol, err := policy.Compile(ct.Role, ct.Commands)
		if err != nil {
			return nil, fmt.Errorf("tenants[%d].commands: %w", i, err)
		}
		u := cfg.Upstreams[ct.Upstream]
		r := &Route{
			Target:      targets[ct.Upstream],
			PassThrough: ct.PassThrough(cfg),
			Shared:      cfg.Shared(ct.Upstream),
			Role:        ct.Role,
			Rules:       ct.Commands,
			Policy:      pol,
		}
		if ct.DB != nil {
			r.DB = *ct.DB
		}
		iamTimers(r, u.Auth)
		if err := withTenantUser(r, u, ct.Upstream, ct, creds, managed); err != nil {
			return nil, fmt.Errorf("tenants[%d]: %w", i, err)
		}
		hasSecret := ct.SecretSHA256 != "" || ct.SecretEnv != ""
		tenants = append(tenants, NewTenant(ct.Name, ct.SecretDigest, hasSecret, r))
	}
	var tv TokenVerifier
	if len(cfg.Tokens.Keys) > 0 || cfg.Tokens.LegacySecret != "" {
		v, err := newTokenVerifier(cfg, tenants, creds, now)
		if err != nil {
			return nil, err
		}
		tv = v
	}
	return NewDirectory(tenants, tv), nil
}

func buildTarget(name, address string, tc config.UpstreamTLS, a config.UpstreamAuth, dialTimeout time.Duration, creds CredsFunc) (*upstream.Target, error) {
	tlsConf, err := upstream.ClientTLS(tc, address)
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s.tls: %w", name, err)
	}
	c, err := creds(name, a)
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s.auth: %w", name, err)
	}
	return &upstream.Target{Name: name, Address: address, TLS: tlsConf, Creds: c, DialTimeout: dialTimeout}, nil
}

// iamTimers sets the re-login schedule of routes to AWS IAM upstreams.
func iamTimers(r *Route, a config.UpstreamAuth) {
	if a.Mode != config.AuthAWSIAM {
		return
	}
	r.ReauthEvery = a.ReauthInterval.D()
	r.MaxAge = a.MaxConnectionAge.D()
}
