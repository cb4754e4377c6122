package iamtest

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Malformed tokens are refused before any signature math. (Tokens made by
// the real signer are tested in package awsiam.)
func TestVerifyTokenMalformed(t *testing.T) {
	const q = "Action=connect&User=u&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250314%2Feu-west-1%2Felasticache%2Faws4_request&X-Amz-Date=20250314T150926Z&X-Amz-SignedHeaders=host"
	tests := []struct{ desc, token string }{
		{desc: "empty", token: ""},
		{desc: "scheme", token: "https://c/?" + q + "&X-Amz-Expires=900"},
		{desc: "port in host", token: "c:6379/?" + q + "&X-Amz-Expires=900"},
		{desc: "path other than /", token: "c/x?" + q + "&X-Amz-Expires=900"},
		{desc: "parameter without =", token: "c/?" + q + "&X-Amz-Expires"},
		{desc: "unknown parameter", token: "c/?" + q + "&X-Amz-Expires=900&Extra=1"},
		{desc: "repeated parameter", token: "c/?" + q + "&X-Amz-Expires=900&User=u"},
		{desc: "bad escape", token: "c/?" + q + "&X-Amz-Expires=9%zz"},
		{desc: "expires over 15 minutes", token: "c/?" + q + "&X-Amz-Expires=901"},
		{desc: "expires zero", token: "c/?" + q + "&X-Amz-Expires=0"},
		{desc: "expires not a number", token: "c/?" + q + "&X-Amz-Expires=15m"},
	}
	want := Expect{CacheName: "c", User: "u", Region: "eu-west-1"}
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}
	now := time.Date(2025, 3, 14, 15, 10, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if err := VerifyToken(tt.token, want, creds, now); !errors.Is(err, ErrMalformed) {
				t.Fatalf("VerifyToken = %v, want ErrMalformed", err)
			}
		})
	}
}
