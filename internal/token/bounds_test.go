package token

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// signRaw signs a payload as an issuer without Issue's checks would
// (an older or buggy issuer, or one holding a leaked key).
func signRaw(k *Keyring, payload string) string {
	signed := prefix1 + k.signer.ID + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return signed + "." + base64.RawURLEncoding.EncodeToString(sign(k.signer.Secret, signed))
}

// Every signed token expires within MaxTTL of its issue and before the
// year 10000: Issue refuses longer lifetimes, and Verify and Decode refuse
// tokens that claim them (a year past 9999 would not even print).
func TestLifetimeBounds(t *testing.T) {
	ring := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	if _, _, err := ring.Issue(Claims{Tenant: "alice"}, t0, MaxTTL+time.Second); !errors.Is(err, ErrInvalidClaims) {
		t.Fatalf("Issue beyond MaxTTL: %v", err)
	}
	if _, _, err := ring.Issue(Claims{Tenant: "alice"}, t0, MaxTTL); err != nil {
		t.Fatalf("Issue at MaxTTL: %v", err)
	}
	const id = `"jti":"0123456789abcdef0123456789abcdef","ten":"alice"`
	for _, tc := range []struct{ desc, payload string }{
		{"expiry past year 9999", `{` + id + `,"iat":1700000000,"exp":253402300800}`},
		{"lifetime beyond MaxTTL", `{` + id + `,"iat":1700000000,"exp":2100000000}`},
		{"issued past year 9999", `{` + id + `,"iat":253402300800,"exp":253402300900}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tok := signRaw(ring, tc.payload)
			if _, err := ring.Verify(tok, t0); !errors.Is(err, ErrInvalidClaims) {
				t.Fatalf("Verify: %v, want ErrInvalidClaims", err)
			}
			if _, err := Decode(tok); !errors.Is(err, ErrInvalidClaims) {
				t.Fatalf("Decode: %v, want ErrInvalidClaims", err)
			}
		})
	}
}
