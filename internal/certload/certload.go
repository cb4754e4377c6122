// Package certload serves a listener's TLS certificate and client CA from
// files that may change while the gateway runs (a renewed certificate, a
// rotated CA), in the manner of ghostunnel's certloader: handshakes read
// the current material through atomic pointers, Reload re-reads the files
// when they changed, and a bad new file leaves the old material serving.
package certload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// Listener is the TLS material of one client-facing listener.
type Listener struct {
	certFile, keyFile, caFile string
	clientAuth                tls.ClientAuthType

	cert atomic.Pointer[tls.Certificate]
	pool atomic.Pointer[x509.CertPool] // nil without client_ca_file

	mu     sync.Mutex // serialises Reload
	stamps [3]stamp   // cert, key, CA as last read
}

// stamp identifies a file's content cheaply: a replaced or rewritten file
// (including a Kubernetes secret volume's symlink swap) changes it.
type stamp struct {
	mod  time.Time
	size int64
}

func stampOf(file string) stamp {
	if file == "" {
		return stamp{}
	}
	fi, err := os.Stat(file)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}

// Load reads the files a listener's tls block names. With client_ca_file,
// client certificates are verified against it and required unless
// client_auth is optional (then a client without one logs in with AUTH).
func Load(c config.ServerTLS) (*Listener, error) {
	l := &Listener{certFile: c.CertFile, keyFile: c.KeyFile, caFile: c.ClientCAFile, clientAuth: tls.NoClientCert}
	if c.ClientCAFile != "" {
		switch c.ClientAuth {
		case config.ClientAuthRequire, "":
			l.clientAuth = tls.RequireAndVerifyClientCert
		case config.ClientAuthOptional:
			l.clientAuth = tls.VerifyClientCertIfGiven
		default:
			return nil, errors.New("client_auth: want require or optional")
		}
	}
	if _, err := l.reload(true); err != nil {
		return nil, err
	}
	return l, nil
}

// TLSConfig is the configuration to serve with. It holds no certificate
// or CA itself: every handshake asks for the current ones, so a reload
// applies to the next connection without restarting the listener.
func (l *Listener) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{
				MinVersion:             tls.VersionTLS12,
				Certificates:           []tls.Certificate{*l.cert.Load()},
				ClientAuth:             l.clientAuth,
				ClientCAs:              l.pool.Load(),
				SessionTicketsDisabled: true, // a resumed session would skip the current CA
			}, nil
		},
	}
}

// Reload re-reads the files if any changed since the last read. It
// reports whether new material is now served; on error the previous
// certificate and CA stay in service.
func (l *Listener) Reload() (bool, error) { return l.reload(false) }

func (l *Listener) reload(force bool) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := [3]stamp{stampOf(l.certFile), stampOf(l.keyFile), stampOf(l.caFile)}
	if !force && now == l.stamps {
		return false, nil
	}
	// Record the attempt even when it fails, so a bad file is reported
	// once, not every poll; the next change is tried again.
	l.stamps = now
	// Errors name the setting, not the file (as configuration errors do);
	// crypto/tls's say what is wrong (no certificate, key does not match)
	// without key material.
	certPEM, err := readFile(l.certFile)
	if err != nil {
		return false, fmt.Errorf("cert_file: %w", err)
	}
	keyPEM, err := readFile(l.keyFile)
	if err != nil {
		return false, fmt.Errorf("key_file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("cert_file and key_file: %w", err)
	}
	var pool *x509.CertPool
	if l.caFile != "" {
		data, err := readFile(l.caFile)
		if err != nil {
			return false, fmt.Errorf("client_ca_file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return false, errors.New("client_ca_file: no PEM certificate that parses")
		}
	}
	l.cert.Store(&cert)
	l.pool.Store(pool)
	return true, nil
}

// readFile reads a file without repeating its path in the error.
func readFile(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("cannot read the file: %w", pe.Err)
	}
	return data, err
}

// Certificate is the certificate in service now (for its expiry metric).
func (l *Listener) Certificate() *tls.Certificate { return l.cert.Load() }
