package etcd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/etcdtest"
)

// etcd with TLS and client certificates: the source reads with the CA,
// certificate and key of sources.etcd.tls, and nothing without them.
func TestEtcdTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", ca, caKey)
	newCert(t, dir, "client", ca, caKey)
	f := func(n string) string { return filepath.Join(dir, n) }
	srv := etcdtest.StartTLS(t, f("server.pem"), f("server-key.pem"), f("ca.pem"))

	tlsCfg := &config.EtcdTLS{CAFile: f("ca.pem"), CertFile: f("client.pem"), KeyFile: f("client-key.pem")}
	cli, err := NewClient(config.EtcdSource{Endpoints: []string{srv.Endpoint}, TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	put(t, cli, "alice", record("a"))
	src := New(Options{Config: config.EtcdSource{Prefix: prefix, DialTimeout: config.Duration(time.Second)}, Client: cli})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !src.Start(ctx, 10*time.Second) {
		t.Fatal("no view over TLS")
	}
	waitNames(t, src, "alice:1")

	// The CA alone (no client certificate): etcd refuses.
	bare, err := NewClient(config.EtcdSource{Endpoints: []string{srv.Endpoint}, TLS: &config.EtcdTLS{CAFile: f("ca.pem")}})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if New(Options{Config: config.EtcdSource{Prefix: prefix, DialTimeout: config.Duration(time.Second)}, Client: bare}).Start(ctx, 2*time.Second) {
		t.Fatal("a view without a client certificate")
	}
}

// newCert writes NAME.pem and NAME-key.pem: a CA when parent is nil, else
// a certificate for 127.0.0.1 signed by parent (server and client use).
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		signer, signKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", kder)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
