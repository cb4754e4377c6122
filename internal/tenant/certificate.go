package tenant

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"strings"
)

// uriPrefix is the one URI form that names a tenant in a client certificate.
const uriPrefix = "redoubt://tenant/"

// FromCertificate maps a verified client certificate to a tenant:
//
//   - A URI SAN of exactly redoubt://tenant/NAME names the tenant NAME. The
//     URI is compared as written in the certificate: no percent-decoding,
//     no other scheme, host, port, query or fragment, and NAME only of the
//     characters tenant names have.
//   - Several redoubt URIs naming different tenants, or a redoubt: URI of
//     any other form, are refused rather than one picked.
//   - When a redoubt URI is present, its tenant must exist: there is no
//     fall back to the CN (a certificate for a removed tenant must not land
//     on another one whose name happens to be its CN).
//   - URIs of other schemes (spiffe://, https://) are ignored, and only a
//     certificate without any redoubt URI is named by its subject CN.
func (d *Directory) FromCertificate(cert *x509.Certificate) (*Identity, error) {
	uris, err := uriSANs(cert)
	if err != nil {
		return nil, reject("client certificate: subject alternative names do not parse")
	}
	name := ""
	for _, u := range uris {
		if len(u) < len("redoubt:") || !strings.EqualFold(u[:len("redoubt:")], "redoubt:") {
			continue
		}
		n, ok := strings.CutPrefix(u, uriPrefix)
		if !ok || !validTenantName(n) {
			return nil, reject("client certificate has a redoubt URI that is not redoubt://tenant/NAME")
		}
		if name != "" && n != name {
			return nil, reject("client certificate names several tenants")
		}
		name = n
	}
	if name == "" {
		name = cert.Subject.CommonName
	}
	t, ok := d.byName[name]
	if !ok {
		return nil, reject("client certificate names no tenant")
	}
	return &Identity{Tenant: t.Name, Route: t.Route, Method: "mtls"}, nil
}

// sanOID is subjectAltName (RFC 5280, 4.2.1.6).
var sanOID = asn1.ObjectIdentifier{2, 5, 29, 17}

// uriSANs returns the certificate's URI SANs exactly as encoded.
// crypto/x509 offers them only parsed into url.URL, which has already
// decoded percent-escapes in the host and path.
func uriSANs(cert *x509.Certificate) ([]string, error) {
	var out []string
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(sanOID) {
			continue
		}
		var seq asn1.RawValue
		rest, err := asn1.Unmarshal(ext.Value, &seq)
		if err != nil || len(rest) > 0 || !seq.IsCompound || seq.Tag != asn1.TagSequence {
			return nil, errors.New("bad subjectAltName")
		}
		for b := seq.Bytes; len(b) > 0; {
			var v asn1.RawValue
			if b, err = asn1.Unmarshal(b, &v); err != nil {
				return nil, errors.New("bad subjectAltName entry")
			}
			if v.Class == asn1.ClassContextSpecific && v.Tag == 6 { // uniformResourceIdentifier
				out = append(out, string(v.Bytes))
			}
		}
	}
	return out, nil
}

// validTenantName: the characters the configuration allows in a tenant name.
func validTenantName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
