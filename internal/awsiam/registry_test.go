package awsiam_test

import (
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/awsiam"
)

func TestRegistry(t *testing.T) {
	base := awsiam.Config{CacheName: "my-cache", User: "proxy", Region: "eu-west-1"}
	tests := []struct {
		desc string
		edit func(*awsiam.Config)
		same bool
	}{
		{desc: "same login", edit: func(*awsiam.Config) {}, same: true},
		{desc: "cache name case", edit: func(c *awsiam.Config) { c.CacheName = "MY-CACHE" }, same: true},
		{desc: "default lifetime spelled out", edit: func(c *awsiam.Config) { c.Lifetime = awsiam.MaxLifetime }, same: true},
		{desc: "other cache", edit: func(c *awsiam.Config) { c.CacheName = "other" }},
		{desc: "other user", edit: func(c *awsiam.Config) { c.User = "admin" }},
		{desc: "other region", edit: func(c *awsiam.Config) { c.Region = "us-east-1" }},
		{desc: "serverless", edit: func(c *awsiam.Config) { c.Serverless = true }},
	}
	var r awsiam.Registry
	first, err := r.Get(base, staticCreds(testCreds))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			p, err := r.Get(cfg, staticCreds(testCreds))
			if err != nil {
				t.Fatal(err)
			}
			if (p == first) != tt.same {
				t.Fatalf("same provider = %v, want %v", p == first, tt.same)
			}
		})
	}
	if _, err := r.Get(awsiam.Config{CacheName: "c"}, staticCreds(testCreds)); err == nil {
		t.Fatal("Get with an invalid config: no error")
	}
}
