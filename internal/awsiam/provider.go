package awsiam

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	service = "elasticache"
	// emptyPayloadHash is hex(sha256("")): the presigned GET has no body.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Provider hands out tokens for one Config. One Provider is shared by every
// session that logs in to the same cache as the same user; it is safe for
// concurrent use.
//
// It reuses a token until two thirds of its lifetime have passed (10 of 15
// minutes), so every token handed out has at least a third of its lifetime
// left for the dial and AUTH. Measured on 2 cores (go test -bench . -benchmem):
//
//	BenchmarkSign         7-15 µs/op  6.6 KB/op  66 allocs/op
//	BenchmarkCachedToken     ~7 ns/op     0 B/op   0 allocs/op
//
// Signing per dial would also be cheap next to the TLS handshake it precedes,
// so speed alone does not decide it. Reuse wins because it keeps the
// credentials chain off the dial path (a reconnect storm after a failover
// costs one signature, not one per session, and one credentials lookup that
// may go to STS or IMDS) and because ElastiCache accepts one token on any
// number of connections while it is valid. The cost — a rotated or revoked
// credential keeps working through the proxy for at most 10 more minutes —
// is the same window AWS gives any issued token.
type Provider struct {
	cfg    Config
	creds  aws.CredentialsProvider
	clock  func() time.Time
	signer *v4.Signer
	url    string // unsigned request URL, X-Amz-Expires included

	// lock is a one-slot semaphore rather than a sync.Mutex so that a
	// caller waiting behind a slow credentials refresh can give up when its
	// context ends.
	lock chan struct{}
	cur  atomic.Pointer[cachedToken]
}

type cachedToken struct {
	token     string
	refreshAt time.Time
}

// NewProvider checks cfg and returns its Provider. A nil clock means
// time.Now. creds is used as given: pass the provider from LoadCredentials,
// which the SDK already wraps in a credentials cache.
func NewProvider(cfg Config, creds aws.CredentialsProvider, clock func() time.Time) (*Provider, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, fmt.Errorf("awsiam: no credentials provider")
	}
	if clock == nil {
		clock = time.Now
	}
	q := url.Values{}
	q.Set("Action", "connect")
	q.Set("User", cfg.User)
	if cfg.Serverless {
		q.Set("ResourceType", "ServerlessCache")
	}
	q.Set("X-Amz-Expires", strconv.FormatInt(int64(cfg.Lifetime/time.Second), 10))
	u := url.URL{Scheme: "https", Host: cfg.CacheName, Path: "/", RawQuery: q.Encode()}
	return &Provider{
		cfg:    cfg,
		creds:  creds,
		clock:  clock,
		signer: v4.NewSigner(),
		url:    u.String(),
		lock:   make(chan struct{}, 1),
	}, nil
}

// Config returns the provider's normalized configuration.
func (p *Provider) Config() Config { return p.cfg }

// Token returns a token valid for at least a third of the configured
// lifetime. The error never contains the token or a secret.
func (p *Provider) Token(ctx context.Context) (string, error) {
	if c := p.cur.Load(); c != nil && p.clock().Before(c.refreshAt) {
		return c.token, nil
	}
	select {
	case p.lock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("awsiam: token for %s: %w", p.cfg.CacheName, ctx.Err())
	}
	defer func() { <-p.lock }()
	// Another caller may have refreshed it while this one waited.
	now := p.clock()
	if c := p.cur.Load(); c != nil && now.Before(c.refreshAt) {
		return c.token, nil
	}
	c, err := p.sign(ctx, now)
	if err != nil {
		return "", err
	}
	p.cur.Store(c)
	return c.token, nil
}

// sign presigns a fresh token at now.
func (p *Provider) sign(ctx context.Context, now time.Time) (*cachedToken, error) {
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("awsiam: retrieve credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, fmt.Errorf("awsiam: build request: %w", err)
	}
	// X-Amz-Date has whole seconds: count the token's life from the same
	// instant, or a token signed at s.9 would be reused after it expired.
	now = now.UTC().Truncate(time.Second)
	signed, _, err := p.signer.PresignHTTP(ctx, creds, req, emptyPayloadHash, service, p.cfg.Region, now)
	if err != nil {
		return nil, fmt.Errorf("awsiam: presign for %s: %w", p.cfg.CacheName, err)
	}
	refreshAt := now.Add(p.cfg.Lifetime * 2 / 3)
	// A token dies with the temporary credentials that signed it, whatever
	// its X-Amz-Expires says: do not keep one whose credentials expire
	// within the last third of its life.
	if creds.CanExpire {
		if t := creds.Expires.Add(-p.cfg.Lifetime / 3); t.Before(refreshAt) {
			refreshAt = t
		}
	}
	return &cachedToken{token: strings.TrimPrefix(signed, "https://"), refreshAt: refreshAt}, nil
}
