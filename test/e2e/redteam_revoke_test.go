package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// Red team: a client certificate names its tenant at the TLS handshake,
// but the session is registered (and so seen by a reload) only when the
// client sends its first command, up to auth_timeout later. A reload in
// between that moves the tenant to another DB, or removes it, must not
// let that connection go on with the identity it got before: it would
// write into the DB its tenant no longer owns.
func TestRedteamReloadBetweenCertificateAndFirstCommand(t *testing.T) {
	ca := newTestCA(t)
	srvCert := ca.issue("server", true, "gw")
	up := redistest.Start(t)
	addr := freeAddr(t)
	cfg := func(erinDB int) string {
		return fmt.Sprintf(`
listen:
  - address: %s
    tls: {cert_file: %s, key_file: %s, client_ca_file: %s}
limits: {auth_timeout: 10s}
upstreams:
  main: {address: %s}
tenants:
  - {name: erin, upstream: main, db: %d}
`, addr, srvCert.CertFile, srvCert.KeyFile, ca.CAFile, up.Addr, erinDB)
	}
	g := startGateway(t, cfg(2), addr)
	clientTLS := &tls.Config{RootCAs: ca.Pool, ServerName: "localhost", MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{ca.issue("erin", false, "someone", "redoubt://tenant/erin").TLS}}

	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := &rawConn{t: t, Conn: c}
	time.Sleep(200 * time.Millisecond) // the gateway has mapped the certificate to erin on DB 2

	// DB 2 is no longer erin's: the connection must not write there.
	reload(t, g, cfg(5))
	_, _ = c.Write([]byte("SET stale-write x\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 256)
	n, _ := c.Read(buf)
	db2 := redis.NewClient(&redis.Options{Addr: up.Addr, DB: 2})
	defer db2.Close()
	if got, _ := db2.Exists(context.Background(), "stale-write").Result(); got != 0 {
		t.Fatalf("a connection certified before the reload wrote into DB 2, which its tenant left (reply %q)", buf[:n])
	}
	if string(buf[:n]) == "+OK\r\n" {
		t.Fatalf("the write was accepted on the pre-reload route")
	}

	// A new connection gets the new route.
	c2, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	r2 := &rawConn{t: t, Conn: c2}
	r2.send("SET fresh-write x\r\n")
	r2.expect("+OK\r\n")
	db5 := redis.NewClient(&redis.Options{Addr: up.Addr, DB: 5})
	defer db5.Close()
	if got, _ := db5.Exists(context.Background(), "fresh-write").Result(); got != 1 {
		t.Fatal("a new certificate login did not land in DB 5")
	}
	_ = raw
}
