package etcd

import (
	"crypto/tls"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// NewClient connects to the configured endpoints. It does not wait for a
// connection: the source and the store retry on their own, so redoubt
// starts (with its other sources) while etcd is down.
func NewClient(c config.EtcdSource) (*clientv3.Client, error) {
	cc := clientv3.Config{
		Endpoints: c.Endpoints,
		Username:  c.Username,
		Password:  c.Password,
		// The client's own zap logs would bypass log/slog; failures are
		// counted and logged by the source instead.
		Logger:               zap.NewNop(),
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		PermitWithoutStream:  true,
	}
	if t := c.TLS; t != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
		if t.CAFile != "" {
			pool, err := config.LoadCertPool(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("sources.etcd.tls.ca_file: %w", err)
			}
			tc.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("sources.etcd.tls: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("sources.etcd: %w", err)
	}
	return cli, nil
}
