package upstream

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// ClientTLS builds the TLS configuration for dialing an upstream: TLS 1.2 at
// least, the configured CA (else the system roots), and the server name
// (else the address's host).
func ClientTLS(c config.UpstreamTLS, address string) (*tls.Config, error) {
	if !c.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("upstream address %q: %w", address, err)
		}
		tc.ServerName = host
	}
	if c.CAFile != "" {
		pool, err := config.LoadCertPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream CA: %w", err)
		}
		tc.RootCAs = pool
	}
	tc.InsecureSkipVerify = c.InsecureSkipVerify //nolint:gosec // opt-in, documented as test-only
	return tc, nil
}

// StaticCreds returns the credentials for modes none, password and acl; mode
// aws-iam is built by the caller, which owns the IAM token providers.
func StaticCreds(a config.UpstreamAuth) Credentials {
	switch a.Mode {
	case config.AuthPassword:
		return StaticCredentials{Pass: a.Password}
	case config.AuthACL:
		return StaticCredentials{User: a.Username, Pass: a.Password}
	}
	return nil
}
