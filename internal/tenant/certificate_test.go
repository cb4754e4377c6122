package tenant

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"
)

// certWith makes a real (self-signed) certificate whose subjectAltName
// holds exactly the given URI strings, bytes as written, and parses it
// back as the TLS stack would.
func certWith(t *testing.T, cn string, uris ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	if len(uris) > 0 {
		var names []asn1.RawValue
		for _, u := range uris {
			names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)})
		}
		val, err := asn1.Marshal(names)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: val}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

func TestFromCertificate(t *testing.T) {
	d := testDirectory() // alice, bob, erin
	for _, tc := range []struct {
		desc   string
		cn     string
		uris   []string
		want   string // "" = refused
		reason string
	}{
		{desc: "redoubt URI wins over the CN", cn: "alice", uris: []string{"redoubt://tenant/erin"}, want: "erin"},
		{desc: "CN without any URI", cn: "bob", want: "bob"},
		{desc: "other schemes are ignored, CN names the tenant", cn: "alice", uris: []string{"spiffe://other/ns/bob"}, want: "alice"},
		{desc: "other scheme naming a tenant does not count", cn: "mallory", uris: []string{"spiffe://other/ns/bob", "https://x/bob"}, reason: "names no tenant"},
		{desc: "redoubt URI beside a spiffe URI", cn: "", uris: []string{"spiffe://x/bob", "redoubt://tenant/erin"}, want: "erin"},
		{desc: "the same tenant twice", uris: []string{"redoubt://tenant/erin", "redoubt://tenant/erin"}, want: "erin"},
		{desc: "two different tenants", uris: []string{"redoubt://tenant/erin", "redoubt://tenant/alice"}, reason: "several tenants"},
		{desc: "unknown tenant: no CN fallback", cn: "bob", uris: []string{"redoubt://tenant/deleted"}, reason: "names no tenant"},
		{desc: "percent-encoded name", cn: "bob", uris: []string{"redoubt://tenant/%61lice"}, reason: "not redoubt://tenant/NAME"},
		{desc: "another host", cn: "bob", uris: []string{"redoubt://other/alice"}, reason: "not redoubt://tenant/NAME"},
		{desc: "scheme in upper case", cn: "bob", uris: []string{"REDOUBT://tenant/alice"}, reason: "not redoubt://tenant/NAME"},
		{desc: "a port", uris: []string{"redoubt://tenant:1/alice"}, reason: "not redoubt://tenant/NAME"},
		{desc: "a deeper path", uris: []string{"redoubt://tenant/x/alice"}, reason: "not redoubt://tenant/NAME"},
		{desc: "a query", uris: []string{"redoubt://tenant/alice?x=1"}, reason: "not redoubt://tenant/NAME"},
		{desc: "a fragment", uris: []string{"redoubt://tenant/alice#x"}, reason: "not redoubt://tenant/NAME"},
		{desc: "empty name", cn: "bob", uris: []string{"redoubt://tenant/"}, reason: "not redoubt://tenant/NAME"},
		{desc: "unknown CN", cn: "mallory", reason: "names no tenant"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			id, err := d.FromCertificate(certWith(t, tc.cn, tc.uris...))
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted as %s", id.Tenant)
				}
				if !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("err = %v, want %q", err, tc.reason)
				}
				return
			}
			if err != nil || id.Tenant != tc.want || id.Method != "mtls" {
				t.Fatalf("got %+v, %v; want %s", id, err, tc.want)
			}
		})
	}
}
