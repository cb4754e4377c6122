package token

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzNow is inside the validity of every fuzzTokens token.
var fuzzNow = t0.Add(time.Minute)

// fuzzTokens returns the ring FuzzVerify checks against and the only
// tokens that may verify with it. They are deterministic (fixed ids), so
// the checked-in seed corpus holds them verbatim.
func fuzzTokens(t testing.TB) (*Keyring, []string) {
	t.Helper()
	cur := Key{ID: "k2", Secret: secret('2')}
	old := Key{ID: "k1", Secret: secret('1')}
	ring := mustKeyring(t, cur, old)
	oldRing := mustKeyring(t, old)
	var toks []string
	for _, tc := range []struct {
		ring *Keyring
		c    Claims
		id   string
	}{
		{ring: ring, c: Claims{Tenant: "alice"}, id: "00112233445566778899aabbccddeeff"},
		{ring: ring, c: Claims{Upstream: "redis.internal:6379", DB: intp(3), Role: RoleReadOnly, NotBefore: t0}, id: "ffeeddccbbaa99887766554433221100"},
		{ring: oldRing, c: Claims{Upstream: "[fd00::1]:6380"}, id: "0123456789abcdef0123456789abcdef"},
	} {
		tok, _, err := tc.ring.issue(tc.c, t0, time.Hour, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	return ring, toks
}

var reasons = []error{ErrTooLong, ErrMalformed, ErrUnsupportedVersion, ErrUnknownKey,
	ErrBadSignature, ErrExpired, ErrNotYetValid, ErrInvalidClaims}

func checkReason(t *testing.T, what string, err error) {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("%s: error %T %v is not a *token.Error", what, err, err)
	}
	for _, r := range reasons {
		if errors.Is(err, r) {
			return
		}
	}
	t.Fatalf("%s: error %v has no known reason", what, err)
}

// FuzzVerify: no input panics, every refusal carries a reason, nothing but
// the issued tokens verifies (a mutation never does), and a legacy token
// verifies only in its one canonical spelling.
func FuzzVerify(f *testing.F) {
	ring, toks := fuzzTokens(f)
	valid := map[string]bool{}
	for _, tok := range toks {
		valid[tok] = true
		f.Add(tok)
	}
	f.Add(goldenLegacy)
	allow, err := ParseAllowList([]string{"*.internal:*", "10.0.0.0/8:6379", "[fd00::/8]:*"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ring.Verify(s, fuzzNow)
		if err == nil {
			if !valid[s] {
				t.Fatalf("a token that was never issued verified: %q -> %+v", s, c)
			}
			if d, err := Decode(s); err != nil || !reflect.DeepEqual(d, c) {
				t.Fatalf("Decode = %+v, %v; Verify = %+v", d, err, c)
			}
		} else {
			checkReason(t, "Verify", err)
			if strings.Contains(err.Error(), s) && len(s) >= 8 {
				t.Fatalf("Verify error %q contains the token", err)
			}
		}
		if _, err := Decode(s); err != nil {
			checkReason(t, "Decode", err)
		}
		if up, err := VerifyLegacy(s, "s3cret"); err == nil {
			if Legacy(up, "s3cret") != s {
				t.Fatalf("non-canonical legacy token verified: %q", s)
			}
			_ = allow.Allows(up)
		} else {
			checkReason(t, "VerifyLegacy", err)
		}
		_ = LooksSigned(s)
		_ = allow.Allows(s)
	})
}

// The checked-in seeds must still be tokens that verify; otherwise the
// fuzz target would start from nothing but garbage.
func TestFuzzSeedsVerify(t *testing.T) {
	ring, toks := fuzzTokens(t)
	tests := []struct {
		desc string
		file string
		want string
	}{
		{desc: "tenant", file: "valid_tenant", want: toks[0]},
		{desc: "route", file: "valid_route", want: toks[1]},
		{desc: "old key", file: "valid_old_key", want: toks[2]},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerify", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != 2 || lines[0] != "go test fuzz v1" {
				t.Fatalf("unexpected seed file %q", b)
			}
			got, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
			if err != nil || got != tt.want {
				t.Fatalf("seed %q (%v) is stale; want %q", got, err, tt.want)
			}
			if _, err := ring.Verify(got, fuzzNow); err != nil {
				t.Fatalf("seed does not verify: %v", err)
			}
		})
	}
}
