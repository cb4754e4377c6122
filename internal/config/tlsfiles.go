package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// TLS files are loaded during validation, not only at start-up, so that
// `redoubt check` and a config reload catch an unreadable or mismatched
// file before a listener or dial needs it. Relative paths are relative to
// the working directory, as the proxy opens them.

// checkKeyPair checks that certFile and keyFile exist, parse, and belong
// together. path is the key path of the tls block, e.g. "listen[0].tls".
func checkKeyPair(p *problems, path, certFile, keyFile string) {
	if certFile == "" {
		p.add(path+".cert_file", "required when tls is set")
	}
	if keyFile == "" {
		p.add(path+".key_file", "required when tls is set")
	}
	if certFile == "" || keyFile == "" {
		return
	}
	certPEM, certErr := readFile(certFile)
	if certErr != nil {
		p.add(path+".cert_file", "%v", certErr)
	} else if !hasCertificate(certPEM) {
		p.add(path+".cert_file", "no PEM certificate that parses")
	}
	keyPEM, keyErr := readFile(keyFile)
	if keyErr != nil {
		p.add(path+".key_file", "%v", keyErr)
	}
	if certErr != nil || keyErr != nil || !hasCertificate(certPEM) {
		return
	}
	// crypto/tls errors describe the problem ("private key does not match
	// public key"), never the key material.
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		p.add(path+".key_file", "does not load with cert_file: %v", err)
	}
}

// checkCAFile checks that file holds at least one PEM certificate.
func checkCAFile(p *problems, path, file string) {
	data, err := readFile(file)
	if err != nil {
		p.add(path, "%v", err)
	} else if !x509.NewCertPool().AppendCertsFromPEM(data) {
		p.add(path, "no PEM certificate that parses")
	}
}

// readFile reads a file the configuration names. Its error says what went
// wrong (no such file, permission denied) without the path: the key path
// names the setting, and config errors never repeat a value.
func readFile(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("cannot read the file: %w", pe.Err)
	}
	return data, err
}

// LoadCertPool reads a PEM file of CA certificates: the one way redoubt
// loads upstream CAs, listener client CAs and `redoubt local --ca`, so a
// file that validates is a file that loads.
func LoadCertPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate that parses", file)
	}
	return pool, nil
}

func hasCertificate(data []byte) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(b.Bytes); err == nil {
				return true
			}
		}
	}
}
