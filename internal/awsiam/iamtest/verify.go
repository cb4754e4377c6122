// Package iamtest is a TEST-ONLY stand-in for ElastiCache's IAM
// authentication, which cannot run here (no AWS, no network): VerifyToken
// checks a presigned token the way ElastiCache would, with fixed test
// credentials, and Front is a TLS RESP server that puts that check in front
// of a real redis-server, AUTH for AUTH, including the forced close of
// connections that do not log in again in time.
//
// Nothing in it is used by redoubt itself.
package iamtest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Reasons a token is refused, for errors.Is in tests, so that a test of
// expiry cannot pass because of a bad signature and the other way round.
var (
	ErrMalformed = errors.New("iamtest: malformed token")
	ErrMismatch  = errors.New("iamtest: token is for another login")
	ErrExpired   = errors.New("iamtest: token expired or not yet valid")
	ErrSignature = errors.New("iamtest: signature does not match")
)

const (
	service      = "elasticache"
	amzDateForm  = "20060102T150405Z"
	maxLifetime  = 900 // seconds; ElastiCache refuses longer tokens
	maxClockSkew = 5 * time.Minute
	// emptyPayloadHash is hex(sha256("")).
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Expect is the login a token must be for.
type Expect struct {
	CacheName  string
	User       string
	Region     string
	Serverless bool
	// Lifetime, when not zero, must equal the token's X-Amz-Expires.
	Lifetime time.Duration
}

// knownParams are the only query parameters a token may carry.
var knownParams = map[string]bool{
	"Action": true, "User": true, "ResourceType": true,
	"X-Amz-Algorithm": true, "X-Amz-Credential": true, "X-Amz-Date": true,
	"X-Amz-Expires": true, "X-Amz-SignedHeaders": true,
	"X-Amz-Security-Token": true, "X-Amz-Signature": true,
}

// VerifyToken recomputes the SigV4 signature of token from its own query
// parameters with creds, and checks that it is for want, was signed for
// service elasticache, and is valid at now. Errors wrap one of the Err
// values above and never quote the token, its signature or a secret.
func VerifyToken(token string, want Expect, creds aws.Credentials, now time.Time) error {
	host, rawQuery, err := splitToken(token)
	if err != nil {
		return err
	}
	q, err := parseQuery(rawQuery)
	if err != nil {
		return err
	}
	if err := checkLogin(host, q, want); err != nil {
		return err
	}
	date, scope, err := checkScope(q, want, creds)
	if err != nil {
		return err
	}
	if err := checkTime(q, date, want, now); err != nil {
		return err
	}
	return checkSignature(host, q, scope, creds)
}

// splitToken splits "host/?query"; the token has no scheme and path "/".
func splitToken(token string) (host, rawQuery string, err error) {
	host, rest, ok := strings.Cut(token, "/")
	if !ok || host == "" || strings.Contains(host, ":") {
		return "", "", fmt.Errorf("%w: want <cache-name>/?<query> without a scheme", ErrMalformed)
	}
	rawQuery, ok = strings.CutPrefix(rest, "?")
	if !ok {
		return "", "", fmt.Errorf("%w: path must be \"/\"", ErrMalformed)
	}
	return host, rawQuery, nil
}

// parseQuery decodes the query strictly: known names, each at most once.
func parseQuery(raw string) (map[string]string, error) {
	q := make(map[string]string)
	for _, kv := range strings.Split(raw, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%w: query part without '='", ErrMalformed)
		}
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: bad percent-encoding", ErrMalformed)
		}
		if !knownParams[k] {
			return nil, fmt.Errorf("%w: unexpected parameter %q", ErrMalformed, k)
		}
		if _, dup := q[k]; dup {
			return nil, fmt.Errorf("%w: parameter %q repeated", ErrMalformed, k)
		}
		q[k] = v
	}
	return q, nil
}

// checkLogin checks what is being asked for: connect to want's cache as
// want's user, as a Serverless cache exactly when want says so.
func checkLogin(host string, q map[string]string, want Expect) error {
	if wantHost := strings.ToLower(want.CacheName); host != wantHost {
		return fmt.Errorf("%w: host %q, want cache %q", ErrMismatch, host, wantHost)
	}
	if q["Action"] != "connect" {
		return fmt.Errorf("%w: Action %q, want connect", ErrMismatch, q["Action"])
	}
	if q["User"] != want.User {
		return fmt.Errorf("%w: User %q, want %q", ErrMismatch, q["User"], want.User)
	}
	rt, has := q["ResourceType"]
	switch {
	case want.Serverless && rt != "ServerlessCache":
		return fmt.Errorf("%w: Serverless cache needs ResourceType=ServerlessCache, got %q", ErrMismatch, rt)
	case !want.Serverless && has:
		return fmt.Errorf("%w: ResourceType %q on a non-Serverless cache", ErrMismatch, rt)
	}
	return nil
}

// checkScope checks algorithm, credential scope, signed headers and the
// session token, and returns the signing date and the scope.
func checkScope(q map[string]string, want Expect, creds aws.Credentials) (date time.Time, scope string, err error) {
	if q["X-Amz-Algorithm"] != algorithm {
		return date, "", fmt.Errorf("%w: X-Amz-Algorithm %q", ErrMalformed, q["X-Amz-Algorithm"])
	}
	if q["X-Amz-SignedHeaders"] != "host" {
		return date, "", fmt.Errorf("%w: X-Amz-SignedHeaders %q, want host", ErrMalformed, q["X-Amz-SignedHeaders"])
	}
	date, err = time.Parse(amzDateForm, q["X-Amz-Date"])
	if err != nil {
		return date, "", fmt.Errorf("%w: X-Amz-Date %q", ErrMalformed, q["X-Amz-Date"])
	}
	akid, scope, ok := strings.Cut(q["X-Amz-Credential"], "/")
	if !ok {
		return date, "", fmt.Errorf("%w: X-Amz-Credential has no scope", ErrMalformed)
	}
	if akid != creds.AccessKeyID {
		return date, "", fmt.Errorf("%w: signed with access key %q, want %q", ErrMismatch, akid, creds.AccessKeyID)
	}
	wantScope := date.Format("20060102") + "/" + want.Region + "/" + service + "/aws4_request"
	if scope != wantScope {
		return date, "", fmt.Errorf("%w: credential scope %q, want %q", ErrMismatch, scope, wantScope)
	}
	tok, has := q["X-Amz-Security-Token"]
	switch {
	case creds.SessionToken == "" && has:
		return date, "", fmt.Errorf("%w: unexpected X-Amz-Security-Token", ErrMismatch)
	case creds.SessionToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(creds.SessionToken)) != 1:
		return date, "", fmt.Errorf("%w: X-Amz-Security-Token is missing or wrong", ErrMismatch)
	}
	return date, scope, nil
}

// checkTime checks X-Amz-Expires and that now is inside the token's life
// (allowing AWS's clock skew before it starts, none after it ends).
func checkTime(q map[string]string, signedAt time.Time, want Expect, now time.Time) error {
	secs, err := strconv.Atoi(q["X-Amz-Expires"])
	if err != nil || secs < 1 || secs > maxLifetime {
		return fmt.Errorf("%w: X-Amz-Expires %q, want 1..%d seconds", ErrMalformed, q["X-Amz-Expires"], maxLifetime)
	}
	life := time.Duration(secs) * time.Second
	if want.Lifetime != 0 && life != want.Lifetime {
		return fmt.Errorf("%w: X-Amz-Expires %v, want %v", ErrMismatch, life, want.Lifetime)
	}
	if now.Before(signedAt.Add(-maxClockSkew)) {
		return fmt.Errorf("%w: signed at %s, in the future of %s", ErrExpired, signedAt.Format(amzDateForm), now.UTC().Format(amzDateForm))
	}
	if end := signedAt.Add(life); !now.Before(end) {
		return fmt.Errorf("%w: expired at %s, now %s", ErrExpired, end.Format(amzDateForm), now.UTC().Format(amzDateForm))
	}
	return nil
}

// checkSignature recomputes the signature over every parameter but the
// signature itself.
func checkSignature(host string, q map[string]string, scope string, creds aws.Credentials) error {
	params := make([]param, 0, len(q))
	for k, v := range q {
		if k != "X-Amz-Signature" {
			params = append(params, param{k, v})
		}
	}
	canonical := canonicalRequest("GET", "/", canonicalQuery(params), host, emptyPayloadHash)
	day, rest, _ := strings.Cut(scope, "/")
	region, _, _ := strings.Cut(rest, "/")
	key := signingKey(creds.SecretAccessKey, day, region, service)
	want := signature(key, stringToSign(q["X-Amz-Date"], scope, canonical))
	if subtle.ConstantTimeCompare([]byte(q["X-Amz-Signature"]), []byte(want)) != 1 {
		return ErrSignature
	}
	return nil
}
