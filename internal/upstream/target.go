// Package upstream dials the caches redoubt stands in front of and logs in
// to them on the tenants' behalf: TCP or TLS, then AUTH (password, ACL user or
// AWS IAM token) or HELLO with the proxy's credentials, then SELECT.
package upstream

import (
	"context"
	"crypto/tls"
	"time"
)

// Credentials returns the username (empty for password-only login) and the
// password or token to present upstream. It is called on every dial and on
// every in-place re-login, so token-based sources can rotate.
type Credentials interface {
	Credentials(ctx context.Context) (user, pass string, err error)
}

// StaticCredentials is a fixed username / password pair (modes password and acl).
type StaticCredentials struct{ User, Pass string }

// Credentials implements Credentials.
func (s StaticCredentials) Credentials(context.Context) (string, string, error) {
	return s.User, s.Pass, nil
}

// Target is one upstream endpoint and how to log in to it. It is immutable
// once built and shared by every session routed to it.
type Target struct {
	Name        string      // config name (or "token:HOST:PORT" for token routes), for logs and metrics
	Address     string      // host:port
	TLS         *tls.Config // nil for plain TCP
	Creds       Credentials // nil for mode none
	DialTimeout time.Duration
}
