package token

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func payloadSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	for _, c := range []Claims{
		{Tenant: "alice"},
		{Upstream: "redis.internal:6379", DB: intp(3), Role: RoleReadOnly, NotBefore: t0},
		{Upstream: "[fd00::1]:6380", DB: intp(0)},
		{Upstream: "cache.example.com:6379", Role: RoleFull},
		{Tenant: "a<b>&c"}, // escaped by json.Marshal: the general path
		{Tenant: "é"},      // not ASCII: the general path
	} {
		c.ID = "00112233445566778899aabbccddeeff"
		c.IssuedAt, c.Expiry = t0, t0.Add(time.Hour)
		p, err := encodePayload(&c)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, p)
	}
	for _, s := range []string{
		`{"jti":"00112233445566778899aabbccddeeff","ten":"alice","iat":01,"exp":2}`,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"","iat":1,"exp":2}`,
		`{"jti":"00112233445566778899aabbccddeeff","up":"h:1","db":-0,"iat":1,"exp":2}`,
		`{"jti":"00112233445566778899aabbccddeeff","up":"h:1","db":99999999999999999999,"iat":1,"exp":2}`,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"alice","iat":1,"nbf":0,"exp":2}`,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"alice","iat":1,"exp":2} `,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"al\u0069ce","iat":1,"exp":2}`,
		`{"JTI":"00112233445566778899aabbccddeeff","ten":"alice","iat":1,"exp":2}`,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"alice","exp":2,"iat":1}`,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"alice","iat":1,"exp":-2}`,
		`{"jti":"00112233445566778899aabbccddeeff","ten":"alice","iat":123456789012345678,"exp":1234567890123456789}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

func checkPayloadAgrees(t *testing.T, p []byte) {
	t.Helper()
	got, gerr := decodePayload(p, "k1")
	want, werr := decodeJSON(p, "k1")
	if !reflect.DeepEqual(got, want) || (gerr == nil) != (werr == nil) ||
		gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("payload %q:\ngot  %+v, %v\nwant %+v, %v", p, got, gerr, want, werr)
	}
	var te *Error
	if gerr != nil && !errors.As(gerr, &te) {
		t.Fatalf("payload %q: error %v is not a *token.Error", p, gerr)
	}
}

func TestDecodePayloadAgreesWithEncodingJSON(t *testing.T) {
	plain := 0
	for _, p := range payloadSeeds(t) {
		checkPayloadAgrees(t, p)
		if _, ok := decodePlain(p); ok {
			plain++
		}
		// Every truncation and every one-byte change, too.
		for i := range p {
			checkPayloadAgrees(t, p[:i])
			for _, b := range []byte{'"', '\\', '0', '9', '-', ',', '}', ' ', 'x', 0x80} {
				q := bytes.Clone(p)
				q[i] = b
				checkPayloadAgrees(t, q)
			}
		}
	}
	if plain < 4 {
		t.Fatalf("only %d seeds took the plain path", plain)
	}
}

// FuzzDecodePayload: the plain reader and encoding/json accept the same
// payloads with the same claims and refuse the rest with the same error.
func FuzzDecodePayload(f *testing.F) {
	for _, p := range payloadSeeds(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		checkPayloadAgrees(t, p)
	})
}

func TestPooledMACMatchesSign(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k2", Secret: secret('2')}, Key{ID: "k1", Secret: secret('1')})
	for i := 0; i < 3; i++ { // a pooled hash is reused: it must start clean each time
		for _, kid := range []string{"k1", "k2"} {
			for _, msg := range []string{"", "rdt1.k1.x", strings.Repeat("y", 300)} {
				if got, want := k.mac(kid, k.byID[kid], msg), sign(k.byID[kid], msg); !bytes.Equal(got, want) {
					t.Fatalf("mac(%s, %q) = %x, want %x", kid, msg, got, want)
				}
			}
		}
	}
}
