package awsiam

import (
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Registry hands out one Provider per login (cache, user, region,
// serverless, lifetime), so every session to the same cache shares one
// cached token. The zero value is ready to use; it is safe for concurrent
// use.
//
// The first Get for a login decides its credentials: redoubt loads one
// credentials chain per process, so later calls pass the same one.
type Registry struct {
	// Clock is handed to new providers; nil means time.Now.
	Clock func() time.Time

	mu        sync.Mutex
	providers map[Config]*Provider
}

// Get returns the Provider for cfg, creating it on first use.
func (r *Registry) Get(cfg Config, creds aws.CredentialsProvider) (*Provider, error) {
	key, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.providers[key]; ok {
		return p, nil
	}
	p, err := NewProvider(key, creds, r.Clock)
	if err != nil {
		return nil, err
	}
	if r.providers == nil {
		r.providers = make(map[Config]*Provider)
	}
	r.providers[key] = p
	return p, nil
}
