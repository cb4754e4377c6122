package awsiam

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// LoadCredentials resolves the SDK's default credentials chain (environment,
// shared config and credentials files / AWS_PROFILE, web identity as used by
// EKS IRSA, EKS Pod Identity, ECS task role, EC2 instance profile via IMDS)
// and the region: region when not empty, else AWS_REGION /
// AWS_DEFAULT_REGION / the profile's region. The region is not looked up in
// IMDS: off EC2 that lookup stalls start-up for seconds before failing, and
// a region that silently follows the host is the "wrong region" pitfall of
// docs/aws-iam.md.
//
// Nothing is fetched yet: credentials are retrieved lazily (and cached and
// refreshed by the SDK); call CheckCredentials to fail fast.
func LoadCredentials(ctx context.Context, region string) (aws.CredentialsProvider, string, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("awsiam: load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, "", errors.New("awsiam: no AWS region: set region in the upstream's auth block, or AWS_REGION")
	}
	if cfg.Credentials == nil {
		return nil, "", errors.New("awsiam: the AWS SDK found no credentials provider")
	}
	return cfg.Credentials, cfg.Region, nil
}

// CheckCredentials retrieves credentials once, so a proxy without usable
// credentials fails at start rather than at the first client's dial. It
// returns only the access key id, which identifies the credentials in a log
// line without being secret.
func CheckCredentials(ctx context.Context, creds aws.CredentialsProvider) (string, error) {
	if creds == nil {
		return "", errors.New("awsiam: no credentials provider")
	}
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("awsiam: retrieve AWS credentials: %w", err)
	}
	if !c.HasKeys() {
		return "", fmt.Errorf("awsiam: AWS credentials from %q are incomplete (no access key id or secret key)", c.Source)
	}
	return c.AccessKeyID, nil
}
