package certload

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
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
)

// ca is a throwaway certificate authority made by the test.
type ca struct {
	t    *testing.T
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

var serial int64

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &ca{t: t, cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// issue returns a leaf certificate and key as PEM, and as a tls.Certificate.
func (a *ca) issue(cn string, server bool) (certPEM, keyPEM []byte, tc tls.Certificate) {
	a.t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		a.t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	tc, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		a.t.Fatal(err)
	}
	return certPEM, keyPEM, tc
}

// replace writes a file the way deployment tools do (new file, rename), and
// moves its mtime forward so the change shows within one mtime tick.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err == nil {
		later := fi.ModTime().Add(time.Second)
		_ = os.Chtimes(tmp, later, later)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// serve accepts TLS connections with l's configuration and completes each
// handshake; it stops with the test.
func serve(t *testing.T, l *Listener) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", l.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// dial completes a handshake and one read (TLS 1.3 reports a refused client
// certificate only after the client's handshake returns), and returns the
// server certificate's CN.
func dial(addr string, roots *x509.CertPool, client *tls.Certificate) (string, error) {
	cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if client != nil {
		// Sent whatever CAs the server names, as a misconfigured or
		// hostile client would (Certificates alone are sent only when
		// they chain to a CA the server lists).
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

type files struct{ cert, key, ca string }

func writeFiles(t *testing.T, server *ca, clients *ca, cn string) files {
	t.Helper()
	dir := t.TempDir()
	f := files{filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")}
	c, k, _ := server.issue(cn, true)
	replace(t, f.cert, c)
	replace(t, f.key, k)
	replace(t, f.ca, clients.pem)
	return f
}

func TestClientAuth(t *testing.T) {
	serverCA, clientCA, otherCA := newCA(t, "server CA"), newCA(t, "client CA"), newCA(t, "other CA")
	f := writeFiles(t, serverCA, clientCA, "gateway")
	_, _, good := clientCA.issue("alice", false)
	_, _, foreign := otherCA.issue("alice", false)
	for _, tc := range []struct {
		desc       string
		clientAuth string
		client     *tls.Certificate
		ok         bool
	}{
		{desc: "default requires a certificate: none", client: nil},
		{desc: "default requires a certificate: given", client: &good, ok: true},
		{desc: "require: none", clientAuth: "require", client: nil},
		{desc: "require: from another CA", clientAuth: "require", client: &foreign},
		{desc: "require: given", clientAuth: "require", client: &good, ok: true},
		{desc: "optional: none", clientAuth: "optional", client: nil, ok: true},
		{desc: "optional: from another CA", clientAuth: "optional", client: &foreign},
		{desc: "optional: given", clientAuth: "optional", client: &good, ok: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			l, err := Load(config.ServerTLS{CertFile: f.cert, KeyFile: f.key, ClientCAFile: f.ca, ClientAuth: tc.clientAuth})
			if err != nil {
				t.Fatal(err)
			}
			_, err = dial(serve(t, l), serverCA.pool, tc.client)
			if tc.ok != (err == nil) {
				t.Fatalf("handshake err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestReloadPicksUpChangedFilesAndKeepsOldOnBadOnes(t *testing.T) {
	serverCA, clientCA := newCA(t, "server CA"), newCA(t, "client CA")
	f := writeFiles(t, serverCA, clientCA, "first")
	l, err := Load(config.ServerTLS{CertFile: f.cert, KeyFile: f.key, ClientCAFile: f.ca})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, l)
	_, _, alice := clientCA.issue("alice", false)
	expect := func(wantCN string, client *tls.Certificate) {
		t.Helper()
		cn, err := dial(addr, serverCA.pool, client)
		if err != nil || cn != wantCN {
			t.Fatalf("served %q, %v; want %q", cn, err, wantCN)
		}
	}
	expect("first", &alice)

	if changed, err := l.Reload(); changed || err != nil {
		t.Fatalf("Reload with nothing changed = %v, %v", changed, err)
	}

	// A renewed certificate at the same path.
	c, k, _ := serverCA.issue("second", true)
	replace(t, f.key, k)
	replace(t, f.cert, c)
	if changed, err := l.Reload(); !changed || err != nil {
		t.Fatalf("Reload = %v, %v", changed, err)
	}
	expect("second", &alice)

	// A broken certificate (and a key that does not match) keeps the old.
	replace(t, f.cert, []byte("not a certificate"))
	if _, err := l.Reload(); err == nil {
		t.Fatal("Reload accepted a broken certificate")
	}
	expect("second", &alice)
	c, _, _ = serverCA.issue("third", true)
	replace(t, f.cert, c) // the old key does not match
	if _, err := l.Reload(); err == nil {
		t.Fatal("Reload accepted a certificate with a key that does not match")
	}
	expect("second", &alice)

	// A new client CA: its clients get in, the old CA's no longer do.
	c, k, _ = serverCA.issue("fourth", true)
	replace(t, f.key, k)
	replace(t, f.cert, c)
	newClientCA := newCA(t, "new client CA")
	replace(t, f.ca, newClientCA.pem)
	if changed, err := l.Reload(); !changed || err != nil {
		t.Fatalf("Reload = %v, %v", changed, err)
	}
	_, _, bob := newClientCA.issue("bob", false)
	expect("fourth", &bob)
	if _, err := dial(addr, serverCA.pool, &alice); err == nil {
		t.Fatal("a client of the removed CA still got in")
	}

	// A CA file that no longer parses keeps the current CA.
	replace(t, f.ca, []byte("garbage"))
	if _, err := l.Reload(); err == nil {
		t.Fatal("Reload accepted a broken CA file")
	}
	expect("fourth", &bob)
}
