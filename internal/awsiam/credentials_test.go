package awsiam_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/redoubt-proxy/redoubt/internal/awsiam"
)

// isolateAWSEnv gives the SDK's default chain an environment with nothing
// in it but env, and no way to reach AWS: IMDS is disabled, no container or
// web identity endpoint, and shared files only where the test writes them.
func isolateAWSEnv(t *testing.T) (configFile, credsFile string) {
	dir := t.TempDir()
	configFile, credsFile = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_CA_BUNDLE",
	} {
		t.Setenv(k, "")
		os.Unsetenv(k) // restored by t.Setenv's cleanup
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credsFile)
	return configFile, credsFile
}

func TestLoadCredentials(t *testing.T) {
	tests := []struct {
		desc       string
		env        map[string]string
		profile    bool // write a shared profile "team" and select it
		region     string
		wantRegion string
		wantKey    string
		wantErr    string // from LoadCredentials
		wantCheck  string // from CheckCredentials
	}{
		{
			desc:       "environment, region from AWS_REGION",
			env:        map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_REGION": "eu-central-1"},
			wantRegion: "eu-central-1", wantKey: "AKIDENV",
		},
		{
			desc:       "configured region wins over the environment",
			env:        map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_REGION": "eu-central-1"},
			region:     "us-west-2",
			wantRegion: "us-west-2", wantKey: "AKIDENV",
		},
		{
			desc:       "AWS_DEFAULT_REGION",
			env:        map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_DEFAULT_REGION": "sa-east-1"},
			wantRegion: "sa-east-1", wantKey: "AKIDENV",
		},
		{
			desc:       "shared profile",
			profile:    true,
			wantRegion: "ap-south-1", wantKey: "AKIDPROFILE",
		},
		{
			desc:    "no region anywhere",
			env:     map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret"},
			wantErr: "no AWS region",
		},
		{
			desc:       "no credentials fail at the check, not later",
			env:        map[string]string{"AWS_REGION": "eu-west-1"},
			wantRegion: "eu-west-1", wantCheck: "retrieve AWS credentials",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			configFile, credsFile := isolateAWSEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.profile {
				writeFile(t, configFile, "[profile team]\nregion = ap-south-1\n")
				writeFile(t, credsFile, "[team]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n")
				t.Setenv("AWS_PROFILE", "team")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			creds, region, err := awsiam.LoadCredentials(ctx, tt.region)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadCredentials = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadCredentials: %v", err)
			}
			if region != tt.wantRegion {
				t.Errorf("region = %q, want %q", region, tt.wantRegion)
			}
			key, err := awsiam.CheckCredentials(ctx, creds)
			if tt.wantCheck != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantCheck) {
					t.Fatalf("CheckCredentials = %v, want %q", err, tt.wantCheck)
				}
				return
			}
			if err != nil || key != tt.wantKey {
				t.Fatalf("CheckCredentials = %q, %v, want %q", key, err, tt.wantKey)
			}
		})
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckCredentials(t *testing.T) {
	const secret = "sekrit-value-never-in-errors"
	tests := []struct {
		desc    string
		creds   aws.CredentialsProvider
		wantKey string
		wantErr string
	}{
		{desc: "static", creds: staticCreds(testCreds), wantKey: testCreds.AccessKeyID},
		{desc: "nil provider", wantErr: "no credentials provider"},
		{desc: "anonymous", creds: aws.AnonymousCredentials{}, wantErr: "retrieve AWS credentials"},
		{
			desc: "secret without key id",
			creds: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{SecretAccessKey: secret, SessionToken: secret, Source: "test"}, nil
			}),
			wantErr: "incomplete",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			key, err := awsiam.CheckCredentials(context.Background(), tt.creds)
			if tt.wantErr == "" {
				if err != nil || key != tt.wantKey {
					t.Fatalf("CheckCredentials = %q, %v, want %q", key, err, tt.wantKey)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckCredentials = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}
