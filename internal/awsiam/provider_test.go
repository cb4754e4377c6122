package awsiam_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/redoubt-proxy/redoubt/internal/awsiam"
	"github.com/redoubt-proxy/redoubt/internal/awsiam/iamtest"
)

func TestNewProviderRejects(t *testing.T) {
	ok := awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1"}
	tests := []struct {
		desc string
		edit func(*awsiam.Config)
		want string
	}{
		{desc: "no cache name", edit: func(c *awsiam.Config) { c.CacheName = "" }, want: "cache name is required"},
		{desc: "cache name with a path", edit: func(c *awsiam.Config) { c.CacheName = "c/x?y" }, want: "only letters, digits and hyphens"},
		{desc: "cache name with a port", edit: func(c *awsiam.Config) { c.CacheName = "c:6379" }, want: "only letters, digits and hyphens"},
		{desc: "no user", edit: func(c *awsiam.Config) { c.User = "" }, want: "user is required"},
		{desc: "no region", edit: func(c *awsiam.Config) { c.Region = "" }, want: "region is required"},
		{desc: "lifetime over 15m", edit: func(c *awsiam.Config) { c.Lifetime = 16 * time.Minute }, want: "token lifetime"},
		{desc: "lifetime not whole seconds", edit: func(c *awsiam.Config) { c.Lifetime = 1500 * time.Millisecond }, want: "token lifetime"},
		{desc: "negative lifetime", edit: func(c *awsiam.Config) { c.Lifetime = -time.Second }, want: "token lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := awsiam.NewProvider(cfg, staticCreds(testCreds), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewProvider = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := awsiam.NewProvider(ok, nil, nil); err == nil {
		t.Fatal("NewProvider without credentials: no error")
	}
	// All problems at once, not the first only.
	_, err := awsiam.NewProvider(awsiam.Config{}, staticCreds(testCreds), nil)
	for _, want := range []string{"cache name", "user", "region"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewProvider(empty) = %v, want it to mention %q", err, want)
		}
	}
}

// Tokens are reused until 2/3 of their lifetime, then re-signed; every token
// handed out is valid when handed out and for a third of its lifetime after.
func TestProviderRefresh(t *testing.T) {
	cfg := awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1", Lifetime: 15 * time.Minute}
	want := iamtest.Expect{CacheName: "c", User: "u", Region: "eu-west-1"}
	tests := []struct {
		desc   string
		steps  []time.Duration // clock advance before each Token call
		signed int64           // signatures made in total
	}{
		{desc: "first call signs", steps: []time.Duration{0}, signed: 1},
		{desc: "reused before 2/3", steps: []time.Duration{0, time.Minute, 9*time.Minute - time.Second}, signed: 1},
		{desc: "re-signed at 2/3", steps: []time.Duration{0, 10 * time.Minute}, signed: 2},
		{desc: "re-signed every 10 minutes", steps: []time.Duration{0, 10 * time.Minute, 5 * time.Minute, 5 * time.Minute, time.Hour}, signed: 4},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			clk := newFakeClock(t0)
			creds := &countingCreds{creds: testCreds}
			p, err := awsiam.NewProvider(cfg, creds, clk.Now)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tt.steps {
				clk.Add(d)
				tok, err := p.Token(context.Background())
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				for _, at := range []time.Time{clk.Now(), clk.Now().Add(cfg.Lifetime/3 - time.Second)} {
					if err := iamtest.VerifyToken(tok, want, testCreds, at); err != nil {
						t.Fatalf("step %d: token invalid at +%v: %v", i, at.Sub(clk.Now()), err)
					}
				}
			}
			if got := creds.n.Load(); got != tt.signed {
				t.Fatalf("signed %d times, want %d", got, tt.signed)
			}
		})
	}
}

// A token must not outlive the temporary credentials that signed it.
func TestProviderRefreshFollowsCredentialExpiry(t *testing.T) {
	clk := newFakeClock(t0)
	c := testCreds
	c.SessionToken = "session"
	c.CanExpire = true
	c.Expires = t0.Add(7 * time.Minute) // before the 10-minute reuse ends
	creds := &countingCreds{creds: c}
	p, err := awsiam.NewProvider(awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1"}, creds, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, time.Minute, time.Minute} { // t0+2m: reuse until Expires-5m
		clk.Add(d)
		if _, err := p.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := creds.n.Load(); n != 2 {
		t.Fatalf("signed %d times, want 2 (re-signed 5 minutes before the credentials expire)", n)
	}
}

// Concurrent sessions share one signature.
func TestProviderConcurrent(t *testing.T) {
	creds := &countingCreds{creds: testCreds}
	p, err := awsiam.NewProvider(awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1"}, creds, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	toks := make([]string, 32)
	for i := range toks {
		wg.Go(func() {
			toks[i], _ = p.Token(context.Background())
		})
	}
	wg.Wait()
	for i, tok := range toks {
		if tok == "" || tok != toks[0] {
			t.Fatalf("token %d differs or is empty", i)
		}
	}
	if n := creds.n.Load(); n != 1 {
		t.Fatalf("signed %d times, want 1", n)
	}
}

// blockingCreds blocks Retrieve until released.
type blockingCreds struct{ entered, release chan struct{} }

func (b *blockingCreds) Retrieve(ctx context.Context) (aws.Credentials, error) {
	close(b.entered)
	<-b.release
	return testCreds, nil
}

// A caller queued behind a slow credentials refresh can give up.
func TestProviderTokenHonoursContext(t *testing.T) {
	b := &blockingCreds{entered: make(chan struct{}), release: make(chan struct{})}
	p, err := awsiam.NewProvider(awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1"}, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := p.Token(context.Background())
		first <- err
	}()
	<-b.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued Token = %v, want DeadlineExceeded", err)
	}
	close(b.release)
	if err := <-first; err != nil {
		t.Fatalf("first Token: %v", err)
	}
}

func TestProviderCredentialError(t *testing.T) {
	boom := errors.New("no role")
	p, err := awsiam.NewProvider(awsiam.Config{CacheName: "c", User: "u", Region: "eu-west-1"},
		aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return aws.Credentials{}, boom }), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Token(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Token = %v, want it to wrap %v", err, boom)
	}
}
