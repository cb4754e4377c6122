package awsiam_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/redoubt-proxy/redoubt/internal/awsiam"
	"github.com/redoubt-proxy/redoubt/internal/awsiam/iamtest"
)

// signAt returns a token for cfg signed by creds at t.
func signAt(t *testing.T, cfg awsiam.Config, creds aws.Credentials, at time.Time) string {
	t.Helper()
	p, err := awsiam.NewProvider(cfg, staticCreds(creds), func() time.Time { return at })
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	tok, err := p.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

// The token is checked by iamtest.VerifyToken, which recomputes SigV4 from
// the token's own parameters without the SDK.
func TestTokenVerifiesIndependently(t *testing.T) {
	session := testCreds
	session.SessionToken = "FQoGZXIvYXdzEXAMPLE/session+token=="
	tests := []struct {
		desc      string
		cfg       awsiam.Config
		creds     aws.Credentials
		want      iamtest.Expect
		prefix    string
		hasServer bool
	}{
		{
			desc:   "replication group",
			cfg:    awsiam.Config{CacheName: "my-cache", User: "proxy", Region: "eu-west-1"},
			creds:  testCreds,
			want:   iamtest.Expect{CacheName: "my-cache", User: "proxy", Region: "eu-west-1", Lifetime: 15 * time.Minute},
			prefix: "my-cache/?Action=connect&User=proxy&X-Amz-Algorithm=AWS4-HMAC-SHA256&",
		},
		{
			desc:      "serverless adds ResourceType",
			cfg:       awsiam.Config{CacheName: "sls-1", User: "app", Region: "us-east-2", Serverless: true},
			creds:     testCreds,
			want:      iamtest.Expect{CacheName: "sls-1", User: "app", Region: "us-east-2", Serverless: true},
			prefix:    "sls-1/?Action=connect&ResourceType=ServerlessCache&User=app&",
			hasServer: true,
		},
		{
			desc:   "cache name is lower-cased as AWS canonicalizes it",
			cfg:    awsiam.Config{CacheName: "My-Cache", User: "proxy", Region: "eu-west-1"},
			creds:  testCreds,
			want:   iamtest.Expect{CacheName: "my-cache", User: "proxy", Region: "eu-west-1"},
			prefix: "my-cache/?",
		},
		{
			desc:   "temporary credentials carry the session token",
			cfg:    awsiam.Config{CacheName: "c", User: "u", Region: "ap-southeast-2"},
			creds:  session,
			want:   iamtest.Expect{CacheName: "c", User: "u", Region: "ap-southeast-2"},
			prefix: "c/?Action=connect&User=u&",
		},
		{
			desc:   "user name that needs escaping",
			cfg:    awsiam.Config{CacheName: "c", User: "team a+b/c", Region: "eu-west-1"},
			creds:  testCreds,
			want:   iamtest.Expect{CacheName: "c", User: "team a+b/c", Region: "eu-west-1"},
			prefix: "c/?Action=connect&User=team%20a%2Bb%2Fc&",
		},
		{
			desc:   "short lifetime for tests",
			cfg:    awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1", Lifetime: 3 * time.Second},
			creds:  testCreds,
			want:   iamtest.Expect{CacheName: "c", User: "u", Region: "eu-west-1", Lifetime: 3 * time.Second},
			prefix: "c/?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tok := signAt(t, tt.cfg, tt.creds, t0)
			if !strings.HasPrefix(tok, tt.prefix) {
				t.Errorf("token starts %.80q, want prefix %q", tok, tt.prefix)
			}
			if got := strings.Contains(tok, "ResourceType="); got != tt.hasServer {
				t.Errorf("ResourceType present = %v, want %v", got, tt.hasServer)
			}
			if err := iamtest.VerifyToken(tok, tt.want, tt.creds, t0.Add(time.Second)); err != nil {
				t.Errorf("VerifyToken: %v", err)
			}
		})
	}
}

// A token verifies only for its own login, with its own credentials, within
// its own lifetime, and only if no field was changed after signing.
func TestTokenRejected(t *testing.T) {
	cfg := awsiam.Config{CacheName: "my-cache", User: "proxy", Region: "eu-west-1"}
	want := iamtest.Expect{CacheName: "my-cache", User: "proxy", Region: "eu-west-1"}
	tok := signAt(t, cfg, testCreds, t0)
	otherSecret := testCreds
	otherSecret.SecretAccessKey = "another-secret"
	otherKey := testCreds
	otherKey.AccessKeyID = "AKIDOTHER"
	withSession := testCreds
	withSession.SessionToken = "expected-session"

	tests := []struct {
		desc  string
		token string
		edit  func(*iamtest.Expect)
		creds aws.Credentials
		now   time.Time
		want  error // nil: accepted
	}{
		{desc: "valid", now: t0},
		{desc: "last second of life", now: t0.Add(15*time.Minute - time.Second)},
		{desc: "expired", now: t0.Add(15 * time.Minute), want: iamtest.ErrExpired},
		{desc: "signed far in the future", now: t0.Add(-6 * time.Minute), want: iamtest.ErrExpired},
		{desc: "another cache", edit: func(e *iamtest.Expect) { e.CacheName = "other" }, want: iamtest.ErrMismatch},
		{desc: "another user", edit: func(e *iamtest.Expect) { e.User = "admin" }, want: iamtest.ErrMismatch},
		{desc: "another region", edit: func(e *iamtest.Expect) { e.Region = "us-east-1" }, want: iamtest.ErrMismatch},
		{desc: "serverless cache wants ResourceType", edit: func(e *iamtest.Expect) { e.Serverless = true }, want: iamtest.ErrMismatch},
		{desc: "another lifetime", edit: func(e *iamtest.Expect) { e.Lifetime = time.Minute }, want: iamtest.ErrMismatch},
		{desc: "another secret key", creds: otherSecret, want: iamtest.ErrSignature},
		{desc: "another access key", creds: otherKey, want: iamtest.ErrMismatch},
		{desc: "missing session token", creds: withSession, want: iamtest.ErrMismatch},
		{desc: "user edited", token: strings.Replace(tok, "User=proxy", "User=admin", 1), edit: func(e *iamtest.Expect) { e.User = "admin" }, want: iamtest.ErrSignature},
		{desc: "host edited", token: "my-cachf" + strings.TrimPrefix(tok, "my-cache"), edit: func(e *iamtest.Expect) { e.CacheName = "my-cachf" }, want: iamtest.ErrSignature},
		{desc: "date edited", token: strings.Replace(tok, "T150926Z", "T150927Z", 1), want: iamtest.ErrSignature},
		{desc: "expiry edited", token: strings.Replace(tok, "X-Amz-Expires=900", "X-Amz-Expires=899", 1), want: iamtest.ErrSignature},
		{desc: "ResourceType added", token: strings.Replace(tok, "Action=connect&", "Action=connect&ResourceType=ServerlessCache&", 1), edit: func(e *iamtest.Expect) { e.Serverless = true }, want: iamtest.ErrSignature},
		{desc: "with scheme", token: "https://" + tok, want: iamtest.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			token, exp, creds, now := tok, want, testCreds, t0
			if tt.token != "" {
				token = tt.token
			}
			if tt.edit != nil {
				tt.edit(&exp)
			}
			if tt.creds != (aws.Credentials{}) {
				creds = tt.creds
			}
			if !tt.now.IsZero() {
				now = tt.now
			}
			err := iamtest.VerifyToken(token, exp, creds, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyToken = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tok[strings.Index(tok, "X-Amz-Signature=")+16:]) {
				t.Errorf("error quotes the signature: %v", err)
			}
		})
	}
}

// Every single-character change of the signature is caught, including a
// change of case, which hex decoding alone would let through.
func TestTokenSignatureTamper(t *testing.T) {
	cfg := awsiam.Config{CacheName: "my-cache", User: "proxy", Region: "eu-west-1", Serverless: true}
	want := iamtest.Expect{CacheName: "my-cache", User: "proxy", Region: "eu-west-1", Serverless: true}
	tok := signAt(t, cfg, testCreds, t0)
	i := strings.Index(tok, "X-Amz-Signature=") + len("X-Amz-Signature=")
	if len(tok)-i != 64 {
		t.Fatalf("signature has %d characters, want 64", len(tok)-i)
	}
	const alphabet = "0123456789abcdefABCDEF"
	tampered := 0
	for pos := i; pos < len(tok); pos++ {
		for _, c := range []byte(alphabet) {
			if c == tok[pos] {
				continue
			}
			bad := tok[:pos] + string(c) + tok[pos+1:]
			if err := iamtest.VerifyToken(bad, want, testCreds, t0); !errors.Is(err, iamtest.ErrSignature) {
				t.Fatalf("signature[%d] = %q: VerifyToken = %v, want ErrSignature", pos-i, c, err)
			}
			tampered++
		}
	}
	if tampered != 64*(len(alphabet)-1) {
		t.Fatalf("tried %d tampers, want %d", tampered, 64*(len(alphabet)-1))
	}
	if err := iamtest.VerifyToken(tok, want, testCreds, t0); err != nil {
		t.Fatalf("untampered token: %v", err)
	}
}
