package cli

import (
	"crypto/tls"
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/admin"
	"github.com/redoubt-proxy/redoubt/internal/config"
)

// adminAuth is who may call the admin API: admin.token_env's token and/or
// client certificates under admin.client_ca_file.
func adminAuth(a config.Admin) *admin.Authenticator {
	return admin.NewAuthenticator(a.Token, a.ClientCAFile != "")
}

// adminTLS is the admin listener's TLS (nil: plain HTTP).
func adminTLS(a config.Admin) (*tls.Config, error) {
	if a.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if a.ClientCAFile != "" {
		pool, err := config.LoadCertPool(a.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("admin.client_ca_file: %w", err)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}
