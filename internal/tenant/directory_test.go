package tenant

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

func testDirectory() *Directory {
	r1 := &Route{Target: &upstream.Target{Name: "a", Address: "127.0.0.1:1"}, DB: 3}
	r2 := &Route{Target: &upstream.Target{Name: "b", Address: "127.0.0.1:2"}, PassThrough: true}
	return NewDirectory([]*Tenant{
		NewTenant("alice", sha256.Sum256([]byte("alice-secret")), true, r1),
		NewTenant("bob", sha256.Sum256([]byte("bob-secret")), true, r2),
		NewTenant("erin", [32]byte{}, false, r1), // mTLS only
	}, nil)
}

func TestAuthenticate(t *testing.T) {
	d := testDirectory()
	for _, tc := range []struct {
		desc, user, secret, want, reason string
	}{
		{desc: "secret only", secret: "alice-secret", want: "alice"},
		{desc: "tenant and secret", user: "bob", secret: "bob-secret", want: "bob"},
		{desc: "default user means secret only", user: "default", secret: "bob-secret", want: "bob"},
		{desc: "wrong secret", user: "alice", secret: "bob-secret", reason: "wrong secret"},
		{desc: "unknown secret", secret: "nope", reason: "no tenant has this secret"},
		{desc: "unknown tenant", user: "mallory", secret: "alice-secret", reason: "unknown tenant"},
		{desc: "mTLS-only tenant cannot AUTH", user: "erin", secret: "", reason: "mTLS only"},
		{desc: "empty secret", secret: "", reason: "no tenant"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			id, err := d.Authenticate([]byte(tc.user), []byte(tc.secret))
			if tc.want != "" {
				if err != nil || id.Tenant != tc.want || id.Method != "secret" {
					t.Fatalf("got %+v, %v; want tenant %s", id, err, tc.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadCredential) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want a rejection containing %q", err, tc.reason)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Fatal("the error contains the secret")
			}
		})
	}
}

func TestStillValidAfterReload(t *testing.T) {
	old := testDirectory()
	alice, _ := old.Authenticate(nil, []byte("alice-secret"))
	bob, _ := old.Authenticate(nil, []byte("bob-secret"))
	// New config: alice moved to another DB, bob unchanged, erin gone.
	r1 := &Route{Target: &upstream.Target{Name: "a", Address: "127.0.0.1:1"}, DB: 5}
	next := NewDirectory([]*Tenant{
		NewTenant("alice", sha256.Sum256([]byte("alice-secret")), true, r1),
		NewTenant("bob", sha256.Sum256([]byte("bob-secret")), true, bob.Route),
	}, nil)
	if next.StillValid(alice) {
		t.Fatal("alice's session survives a route change")
	}
	if !next.StillValid(bob) {
		t.Fatal("bob's session is ended by an unrelated change")
	}
	if next.StillValid(&Identity{Tenant: "erin", Route: r1, Method: "mtls"}) {
		t.Fatal("a removed tenant's session survives")
	}
	rotated := NewDirectory([]*Tenant{
		NewTenant("bob", sha256.Sum256([]byte("bob-new-secret")), true, bob.Route),
	}, nil)
	if rotated.StillValid(bob) {
		t.Fatal("bob's session survives the rotation of his secret")
	}
}
