package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/redoubt-proxy/redoubt/internal/awsiam"
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// AWSCreds makes upstream credentials. For AWS IAM it loads the SDK's
// default credential chain once per region, checks it works before
// serving (fail fast), and shares one token provider per login.
type AWSCreds struct {
	ctx    context.Context
	log    *slog.Logger
	reg    awsiam.Registry
	mu     sync.Mutex
	chains map[string]chain
	logged map[awsiam.Config]bool
}

type chain struct {
	creds  aws.CredentialsProvider
	region string
	keyID  string
}

// NewAWSCreds makes the process-wide factory; ctx bounds the SDK calls.
func NewAWSCreds(ctx context.Context, log *slog.Logger) *AWSCreds {
	return &AWSCreds{ctx: ctx, log: log, chains: map[string]chain{}, logged: map[awsiam.Config]bool{}}
}

// Get is a tenant.CredsFunc.
func (f *AWSCreds) Get(name string, a model.UpstreamAuth) (upstream.Credentials, error) {
	if a.Mode != model.AuthAWSIAM {
		return upstream.StaticCreds(config.UpstreamAuth{Mode: a.Mode, Username: a.Username, Password: a.Password}), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.chains[a.Region]
	if !ok {
		creds, region, err := awsiam.LoadCredentials(f.ctx, a.Region)
		if err != nil {
			return nil, fmt.Errorf("aws credentials: %w", err)
		}
		keyID, err := awsiam.CheckCredentials(f.ctx, creds)
		if err != nil {
			return nil, fmt.Errorf("aws credentials: %w", err)
		}
		ch = chain{creds: creds, region: region, keyID: keyID}
		f.chains[a.Region] = ch
	}
	cfg := awsiam.Config{CacheName: a.CacheName, User: a.Username, Region: ch.region, Serverless: a.Serverless, Lifetime: a.TokenLifetime}
	p, err := f.reg.Get(cfg, ch.creds)
	if err != nil {
		return nil, err
	}
	if !f.logged[p.Config()] {
		f.logged[p.Config()] = true
		f.log.Info("aws iam login", "upstream", name, "cache", p.Config().CacheName, "region", ch.region,
			"serverless", a.Serverless, "user", a.Username, "access_key_id", ch.keyID)
	}
	return iamCreds{p: p, user: a.Username}, nil
}

// iamCreds presents a fresh (or still fresh) IAM token as the password.
type iamCreds struct {
	p    *awsiam.Provider
	user string
}

func (c iamCreds) Credentials(ctx context.Context) (string, string, error) {
	tok, err := c.p.Token(ctx)
	if err != nil {
		return "", "", err
	}
	return c.user, tok, nil
}
