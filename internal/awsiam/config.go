// Package awsiam logs redoubt in to ElastiCache with AWS IAM instead of a
// password: it presigns, with SigV4, the request ElastiCache accepts as an
// AUTH password, and loads the AWS credentials that sign it from the SDK's
// default chain.
//
// A token is `GET https://<cache>/?Action=connect&User=<user>` (plus
// `&ResourceType=ServerlessCache` for Serverless) presigned for service
// "elasticache", without the "https://". It is sent as AUTH <user> <token>
// over TLS. Tokens are bearer secrets for their lifetime: nothing in this
// package puts one, a secret access key or a session token in an error.
package awsiam

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxLifetime is the longest validity ElastiCache accepts for a token, and
// the lifetime used when Config.Lifetime is zero.
const MaxLifetime = 15 * time.Minute

// Config names one ElastiCache login: which cache, as which ElastiCache
// user, signed for which region.
type Config struct {
	// CacheName is the replication group id or Serverless cache name. AWS
	// canonicalizes it to lower case, so redoubt signs it lower-cased.
	CacheName string
	// User is the ElastiCache user; for IAM users the name equals the id.
	User   string
	Region string
	// Serverless adds ResourceType=ServerlessCache to the signed request.
	Serverless bool
	// Lifetime is X-Amz-Expires, in whole seconds, at most 15m (the default).
	// Tests shorten it to see tokens expire.
	Lifetime time.Duration
}

// normalize returns cfg with defaults applied and the cache name
// lower-cased, so that equal logins compare equal (Registry keys on it), or
// every problem found.
func (cfg Config) normalize() (Config, error) {
	cfg.CacheName = strings.ToLower(cfg.CacheName)
	if cfg.Lifetime == 0 {
		cfg.Lifetime = MaxLifetime
	}
	var errs []error
	if cfg.CacheName == "" {
		errs = append(errs, errors.New("awsiam: cache name is required"))
	} else if !validCacheName(cfg.CacheName) {
		// The name becomes the URL host: anything else would change what
		// is signed (a "/" or "?" would move the rest into path or query).
		errs = append(errs, errors.New("awsiam: cache name: only letters, digits and hyphens are allowed"))
	}
	if cfg.User == "" {
		errs = append(errs, errors.New("awsiam: user is required"))
	}
	if cfg.Region == "" {
		errs = append(errs, errors.New("awsiam: region is required"))
	}
	if cfg.Lifetime < time.Second || cfg.Lifetime > MaxLifetime || cfg.Lifetime%time.Second != 0 {
		errs = append(errs, fmt.Errorf("awsiam: token lifetime %v: want whole seconds in [1s, %v]", cfg.Lifetime, MaxLifetime))
	}
	return cfg, errors.Join(errs...)
}

// ValidCacheName reports whether s, lower-cased, is a cache name redoubt
// signs: the configuration check and the token provider share this rule.
func ValidCacheName(s string) bool { return validCacheName(strings.ToLower(s)) }

func validCacheName(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
