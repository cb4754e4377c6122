package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/redoubt-proxy/redoubt/internal/broker"
	"github.com/redoubt-proxy/redoubt/internal/config"
)

// openBroker opens the service broker's state when broker: is configured
// (nil otherwise). Its source goes after the store in precedence.
func openBroker(cfg *config.Config, log *slog.Logger) (*broker.Broker, error) {
	if cfg.Broker == nil {
		return nil, nil
	}
	return broker.Open(broker.Options{Config: cfg.Broker, StatePath: cfg.BrokerStatePath(), Log: log})
}

// listenBroker serves the broker on its own listener.
func listenBroker(b *broker.Broker, c *config.Broker) (*broker.Server, error) {
	var tc *tls.Config
	if c.TLS != nil {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("broker.tls: %w", err)
		}
		tc = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if c.TLS.ClientCAFile != "" {
			pool, err := config.LoadCertPool(c.TLS.ClientCAFile)
			if err != nil {
				return nil, fmt.Errorf("broker.tls.client_ca_file: %w", err)
			}
			// The platform must present a certificate as well as basic auth.
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	return b.Listen(c.Address, tc)
}
