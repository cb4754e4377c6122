package tenant

import (
	"crypto/sha256"
	"testing"
	"time"
)

// AUTH <secret> finds its tenant by the secret alone. A secret held by
// two tenants used to go to whichever was indexed last (a client landing
// in the other tenant's DB); now it names no tenant, and only AUTH <name>
// <secret> logs in with it. Within one tenant, an expired credential
// with the same secret as a live one used to shadow it and refuse a valid
// login.
func TestSecretHeldTwice(t *testing.T) {
	shared := sha256.Sum256([]byte("shared-secret"))
	twin := sha256.Sum256([]byte("twin-secret"))
	past := time.Now().Add(-time.Hour)
	r := &Route{}
	a := &Tenant{Name: "a", Route: r, endAtExpiry: true, creds: []credential{{id: "k", digest: shared}}}
	b := &Tenant{Name: "b", Route: r, endAtExpiry: true, creds: []credential{{id: "k", digest: shared}}}
	c := &Tenant{Name: "c", Route: r, endAtExpiry: true, creds: []credential{{id: "live", digest: twin}, {id: "old", digest: twin, expires: past}}}
	for _, order := range [][]*Tenant{{a, b, c}, {b, a, c}} {
		d := NewDirectory(order, nil)
		if id, err := d.Authenticate(nil, []byte("shared-secret")); err == nil {
			t.Errorf("AUTH <secret of a and b> logged in as %s", id.Tenant)
		}
		if id, err := d.Authenticate([]byte("default"), []byte("shared-secret")); err == nil {
			t.Errorf("AUTH default <secret of a and b> logged in as %s", id.Tenant)
		}
		for _, name := range []string{"a", "b"} {
			if id, err := d.Authenticate([]byte(name), []byte("shared-secret")); err != nil || id.Tenant != name {
				t.Errorf("AUTH %s <secret>: %v %v", name, id, err)
			}
		}
		for _, user := range []string{"", "c"} {
			id, err := d.Authenticate([]byte(user), []byte("twin-secret"))
			if err != nil || id.Tenant != "c" || id.CredentialID != "live" {
				t.Errorf("AUTH %q <secret of a live and an expired credential>: %+v %v", user, id, err)
			}
		}
	}
}
