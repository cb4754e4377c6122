package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Fixed, fake AWS credentials for the IAM tests. Nothing here is a real key
// and nothing in these tests contacts AWS: internal/awsiam/iamtest.Front
// stands in for an ElastiCache endpoint with IAM authentication (a TLS RESP
// front that verifies each SigV4 token with these same credentials, in
// front of a real redis-server).
const (
	iamTestKeyID  = "AKIDREDOUBTE2ETEST01"
	iamTestSecret = "redoubt-e2e-fake-secret-key-0123456789abcd"
	iamTestRegion = "eu-west-1"
	iamTestUser   = "redoubt"
	iamTestCache  = "orders-cache"
)

func iamTestCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: iamTestKeyID, SecretAccessKey: iamTestSecret, Source: "e2e"}
}

// awsEnvVars is every variable that could lead the SDK's default chain to a
// real identity or to the network (profiles, web identity, container and
// instance metadata endpoints).
var awsEnvVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_SDK_LOAD_CONFIG", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
	"AWS_STS_REGIONAL_ENDPOINTS",
}

// isolateAWSEnv makes the SDK's credential chain hermetic for one test:
// every AWS variable unset (restored after the test), IMDS disabled, and the
// shared config and credentials files pointed at empty files. With
// withCreds, the fixed test credentials are in the environment, the first
// link of the chain; without, the chain has nothing and must fail without
// any network access.
func isolateAWSEnv(t *testing.T, withCreds bool) {
	t.Helper()
	for _, k := range awsEnvVars {
		t.Setenv(k, "") // registers the restore
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	for _, f := range []struct{ env, name string }{
		{"AWS_CONFIG_FILE", "config"}, {"AWS_SHARED_CREDENTIALS_FILE", "credentials"},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(f.env, p)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if withCreds {
		t.Setenv("AWS_ACCESS_KEY_ID", iamTestKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", iamTestSecret)
	}
}

// assertNoIAMSecrets fails if out holds the secret key or anything of a
// token (tokens are bearer credentials for their lifetime).
func assertNoIAMSecrets(t *testing.T, what, out string, extra ...string) {
	t.Helper()
	for _, s := range append([]string{iamTestSecret, "X-Amz-Signature", "X-Amz-Credential", "Action=connect"}, extra...) {
		if strings.Contains(out, s) {
			t.Errorf("%s contains %q (a secret or part of a token)", what, s)
		}
	}
}

// iamWriteFile writes content to name in a fresh temp dir and returns its path.
func iamWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// iamLogLines returns the lines of log that contain any of words.
func iamLogLines(log string, words ...string) string {
	var b strings.Builder
	for _, l := range strings.Split(log, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				b.WriteString(l + "\n")
				break
			}
		}
	}
	return b.String()
}
