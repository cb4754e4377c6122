package awsiam

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The two strategies behind Provider's reuse decision (see its doc comment):
// sign on every dial, or hand out the cached token.

func benchProvider(b *testing.B) *Provider {
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	p, err := NewProvider(Config{CacheName: "my-cache", User: "proxy", Region: "eu-west-1"}, creds, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkSign(b *testing.B) {
	p := benchProvider(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.sign(ctx, p.clock()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCachedToken(b *testing.B) {
	p := benchProvider(b)
	ctx := context.Background()
	if _, err := p.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
