package token

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	tests := []struct {
		desc string
		in   Claims
	}{
		{desc: "tenant", in: Claims{Tenant: "alice"}},
		{desc: "tenant with odd characters", in: Claims{Tenant: `a<b>&"c\`}},
		{desc: "route only", in: Claims{Upstream: "redis.internal:6379"}},
		{desc: "route with db 0 and role", in: Claims{Upstream: "10.0.0.5:6380", DB: intp(0), Role: RoleReadOnly}},
		{desc: "ipv6 route", in: Claims{Upstream: "[fd00::5]:6379", DB: intp(15), Role: RoleReadWrite}},
		{desc: "not before in the past", in: Claims{Tenant: "bob", NotBefore: t0.Add(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tok, issued, err := k.Issue(tt.in, t0.Add(500*time.Millisecond), time.Hour)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if !LooksSigned(tok) || len(tok) > MaxTokenLen {
				t.Fatalf("token %q does not look signed or is too long", tok)
			}
			if issued.Version != Version || issued.KeyID != "k1" || !validID(issued.ID) {
				t.Errorf("issued header = %d %q %q", issued.Version, issued.KeyID, issued.ID)
			}
			if !issued.IssuedAt.Equal(t0) || !issued.Expiry.Equal(t0.Add(time.Hour)) {
				t.Errorf("issued times = %v .. %v, want whole seconds %v .. %v", issued.IssuedAt, issued.Expiry, t0, t0.Add(time.Hour))
			}
			got, err := k.Verify(tok, t0.Add(time.Minute))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(got, issued) {
				t.Errorf("Verify = %+v\nIssue  = %+v", got, issued)
			}
			dec, err := Decode(tok)
			if err != nil || !reflect.DeepEqual(dec, issued) {
				t.Errorf("Decode = %+v, %v; want %+v", dec, err, issued)
			}
		})
	}
}

func TestIssueFreshIDs(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	seen := map[string]bool{}
	for range 100 {
		_, c, err := k.Issue(Claims{Tenant: "alice"}, t0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("token id %s issued twice", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestIssueRejects(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	tests := []struct {
		desc string
		in   Claims
		ttl  time.Duration
	}{
		{desc: "no route", in: Claims{}, ttl: time.Hour},
		{desc: "tenant and upstream", in: Claims{Tenant: "a", Upstream: "h:1"}, ttl: time.Hour},
		{desc: "tenant with db", in: Claims{Tenant: "a", DB: intp(1)}, ttl: time.Hour},
		{desc: "tenant with role", in: Claims{Tenant: "a", Role: RoleReadOnly}, ttl: time.Hour},
		{desc: "tenant with space", in: Claims{Tenant: "a b"}, ttl: time.Hour},
		{desc: "tenant too long", in: Claims{Tenant: strings.Repeat("a", 129)}, ttl: time.Hour},
		{desc: "upstream without port", in: Claims{Upstream: "redis"}, ttl: time.Hour},
		{desc: "upstream with userinfo", in: Claims{Upstream: "u@redis:6379"}, ttl: time.Hour},
		{desc: "negative db", in: Claims{Upstream: "redis:6379", DB: intp(-1)}, ttl: time.Hour},
		{desc: "unknown role", in: Claims{Upstream: "redis:6379", Role: "admin"}, ttl: time.Hour},
		{desc: "zero ttl", in: Claims{Tenant: "a"}, ttl: 0},
		{desc: "sub-second ttl", in: Claims{Tenant: "a"}, ttl: 999 * time.Millisecond},
		{desc: "not before after expiry", in: Claims{Tenant: "a", NotBefore: t0.Add(2 * time.Hour)}, ttl: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tok, _, err := k.Issue(tt.in, t0, tt.ttl)
			if !errors.Is(err, ErrInvalidClaims) || tok != "" {
				t.Fatalf("Issue = %q, %v; want ErrInvalidClaims", tok, err)
			}
		})
	}
}

func TestVerifyReasons(t *testing.T) {
	k1 := Key{ID: "k1", Secret: secret('a')}
	ring := mustKeyring(t, k1)
	tok, _, err := ring.Issue(Claims{Tenant: "alice", NotBefore: t0.Add(time.Hour)}, t0, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	payloadSig := strings.TrimPrefix(tok, "rdt1.k1")
	tests := []struct {
		desc string
		ring *Keyring
		tok  string
		now  time.Time
		want error // nil: verifies
	}{
		{desc: "valid inside leeway", ring: ring, tok: tok, now: t0.Add(time.Hour - NotBeforeLeeway), want: nil},
		{desc: "not yet valid", ring: ring, tok: tok, now: t0.Add(time.Hour - NotBeforeLeeway - time.Second), want: ErrNotYetValid},
		{desc: "last valid second", ring: ring, tok: tok, now: t0.Add(2*time.Hour - time.Nanosecond), want: nil},
		{desc: "expired at expiry", ring: ring, tok: tok, now: t0.Add(2 * time.Hour), want: ErrExpired},
		{desc: "no leeway on expiry", ring: ring, tok: tok, now: t0.Add(2*time.Hour + NotBeforeLeeway/2), want: ErrExpired},
		{desc: "wrong key, same id", ring: mustKeyring(t, Key{ID: "k1", Secret: secret('b')}), tok: tok, now: t0.Add(90 * time.Minute), want: ErrBadSignature},
		{desc: "unknown kid", ring: mustKeyring(t, Key{ID: "k2", Secret: secret('a')}), tok: tok, now: t0.Add(90 * time.Minute), want: ErrUnknownKey},
		{desc: "kid swapped to one the ring has", ring: mustKeyring(t, k1, Key{ID: "k2", Secret: secret('a')}), tok: "rdt1.k2" + payloadSig, now: t0.Add(90 * time.Minute), want: ErrBadSignature},
		{desc: "version 2", ring: ring, tok: "rdt2" + strings.TrimPrefix(tok, "rdt1"), now: t0, want: ErrUnsupportedVersion},
		{desc: "version 01", ring: ring, tok: "rdt01" + strings.TrimPrefix(tok, "rdt1"), now: t0, want: ErrUnsupportedVersion},
		{desc: "empty", ring: ring, tok: "", now: t0, want: ErrMalformed},
		{desc: "legacy token", ring: ring, tok: Legacy("127.0.0.1:6379", "s3cret"), now: t0, want: ErrMalformed},
		{desc: "not base64", ring: ring, tok: "rdt1.k1.!!!!." + strings.Repeat("A", sigB64Len), now: t0, want: ErrMalformed},
		{desc: "padding", ring: ring, tok: tok + "=", now: t0, want: ErrMalformed},
		{desc: "standard base64 alphabet", ring: ring, tok: strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+", now: t0, want: ErrMalformed},
		{desc: "newline inside", ring: ring, tok: tok[:20] + "\n" + tok[20:], now: t0, want: ErrMalformed},
		{desc: "trailing field", ring: ring, tok: tok + ".AAAA", now: t0, want: ErrMalformed},
		{desc: "missing signature", ring: ring, tok: tok[:strings.LastIndexByte(tok, '.')], now: t0, want: ErrMalformed},
		{desc: "too long", ring: ring, tok: tok + strings.Repeat("A", MaxTokenLen), now: t0, want: ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := tt.ring.Verify(tt.tok, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
			if !reflect.DeepEqual(c, Claims{}) {
				t.Errorf("Verify returned claims %+v with an error", c)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Errorf("error %T is not a *token.Error", err)
			}
			if len(tt.tok) > 8 && strings.Contains(err.Error(), tt.tok[5:9]) {
				t.Errorf("error %q contains token text", err)
			}
		})
	}
}

// Every single-byte change anywhere in a valid token must be refused.
func TestVerifyRejectsEverySingleByteTamper(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	tok, _, err := k.Issue(Claims{Upstream: "redis.internal:6379", DB: intp(3), Role: RoleReadOnly}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tried := 0
	for i := 0; i < len(tok); i++ {
		orig := tok[i]
		for _, b := range []byte{orig ^ 0x01, orig ^ 0x20, orig + 1, orig - 1, 'A', 'a', '0', '-', '_', '.', '=', '+', '/', '\n', 0x00, 0xff} {
			if b == orig {
				continue
			}
			bad := tok[:i] + string([]byte{b}) + tok[i+1:]
			if c, err := k.Verify(bad, t0); err == nil {
				t.Fatalf("byte %d changed %q->%q verified: %+v", i, orig, b, c)
			}
			tried++
		}
	}
	if tried < 10*len(tok) {
		t.Fatalf("only %d tampers tried for a %d-byte token", tried, len(tok))
	}
}

func TestVerifyRejectsEveryTruncation(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	tok, _, err := k.Issue(Claims{Tenant: "alice"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(tok); n++ {
		if _, err := k.Verify(tok[:n], t0); err == nil {
			t.Fatalf("prefix of length %d verified", n)
		}
		if _, err := k.Verify(tok[n+1:], t0); err == nil && n+1 < len(tok) {
			t.Fatalf("suffix from %d verified", n+1)
		}
	}
}

// A payload signed with the right key but spelled differently from what
// Issue writes must still be refused: only one spelling per claim set.
func TestVerifyRejectsNonCanonicalPayload(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	const id = `"jti":"0123456789abcdef0123456789abcdef"`
	tests := []struct {
		desc    string
		payload string
		want    error
	}{
		{desc: "canonical control", payload: `{` + id + `,"ten":"alice","iat":1893553445,"exp":1893557045}`, want: nil},
		{desc: "duplicate key", payload: `{` + id + `,"ten":"alice","ten":"bob","iat":1893553445,"exp":1893557045}`, want: ErrMalformed},
		{desc: "key in other case", payload: `{` + id + `,"TEN":"alice","iat":1893553445,"exp":1893557045}`, want: ErrMalformed},
		{desc: "unknown key", payload: `{` + id + `,"ten":"alice","adm":true,"iat":1893553445,"exp":1893557045}`, want: ErrMalformed},
		{desc: "whitespace", payload: `{ ` + id + `,"ten":"alice","iat":1893553445,"exp":1893557045}`, want: ErrMalformed},
		{desc: "reordered", payload: `{"ten":"alice",` + id + `,"iat":1893553445,"exp":1893557045}`, want: ErrMalformed},
		{desc: "exponent number", payload: `{` + id + `,"ten":"alice","iat":1893553445,"exp":1.893557045e9}`, want: ErrMalformed},
		{desc: "trailing data", payload: `{` + id + `,"ten":"alice","iat":1893553445,"exp":1893557045}{}`, want: ErrMalformed},
		{desc: "null", payload: `null`, want: ErrMalformed},
		{desc: "no expiry", payload: `{` + id + `,"ten":"alice","iat":1893553445,"exp":0}`, want: ErrInvalidClaims},
		{desc: "tenant and route", payload: `{` + id + `,"ten":"alice","up":"h:1","iat":1893553445,"exp":1893557045}`, want: ErrInvalidClaims},
		{desc: "bad route", payload: `{` + id + `,"up":"evil.com#.x:1","iat":1893553445,"exp":1893557045}`, want: ErrInvalidClaims},
		{desc: "bad id", payload: `{"jti":"x","ten":"alice","iat":1893553445,"exp":1893557045}`, want: ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			signed := "rdt1.k1." + b64.EncodeToString([]byte(tt.payload))
			tok := signed + "." + b64.EncodeToString(sign(secret('a'), signed))
			_, err := k.Verify(tok, t0)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
		})
	}
}

// An oversized token is refused before any work: no allocation at all.
func TestVerifyTooLongIsCheap(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	huge := "rdt1.k1." + strings.Repeat("A", 1<<20)
	for _, tt := range []struct {
		desc string
		f    func() error
	}{
		{desc: "Verify", f: func() error { _, err := k.Verify(huge, t0); return err }},
		{desc: "Decode", f: func() error { _, err := Decode(huge); return err }},
		{desc: "VerifyLegacy", f: func() error { _, err := VerifyLegacy(huge, "s3cret"); return err }},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			if err := tt.f(); !errors.Is(err, ErrTooLong) {
				t.Fatalf("err = %v, want ErrTooLong", err)
			}
			if allocs := testing.AllocsPerRun(10, func() { _ = tt.f() }); allocs != 0 {
				t.Errorf("%v allocations refusing a 1 MiB token; want 0", allocs)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	old := Key{ID: "old", Secret: secret('o')}
	cur := Key{ID: "new", Secret: secret('n')}
	before := mustKeyring(t, old)
	during := mustKeyring(t, cur, old)
	after := mustKeyring(t, cur)

	oldTok, _, err := before.Issue(Claims{Tenant: "alice"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	newTok, newClaims, err := during.Issue(Claims{Tenant: "alice"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if newClaims.KeyID != "new" || !strings.HasPrefix(newTok, "rdt1.new.") {
		t.Errorf("during rotation signed with %q, want the first key", newClaims.KeyID)
	}
	tests := []struct {
		desc string
		ring *Keyring
		tok  string
		want error
	}{
		{desc: "old token, old key still in ring", ring: during, tok: oldTok, want: nil},
		{desc: "new token during rotation", ring: during, tok: newTok, want: nil},
		{desc: "new token after rotation", ring: after, tok: newTok, want: nil},
		{desc: "old token after old key removed", ring: after, tok: oldTok, want: ErrUnknownKey},
		{desc: "new token on a proxy not yet updated", ring: before, tok: newTok, want: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := tt.ring.Verify(tt.tok, t0)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeDoesNotVerify(t *testing.T) {
	k := mustKeyring(t, Key{ID: "k1", Secret: secret('a')})
	tok, want, err := k.Issue(Claims{Tenant: "alice"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Change a signature character: Decode still shows the claims, Verify refuses.
	i, repl := len(tok)-5, "A"
	if tok[i] == 'A' {
		repl = "B"
	}
	bad := tok[:i] + repl + tok[i+1:]
	got, err := Decode(bad)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode = %+v, %v; want %+v", got, err, want)
	}
	if _, err := k.Verify(bad, t0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify err = %v, want ErrBadSignature", err)
	}
}

func TestLooksSigned(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want bool
	}{
		{desc: "v1", in: "rdt1.k1.x.y", want: true},
		{desc: "future version", in: "rdt12.k1", want: true},
		{desc: "prefix only", in: "rdt1.", want: true},
		{desc: "no dot", in: "rdt1", want: false},
		{desc: "no version", in: "rdt.k1", want: false},
		{desc: "letter version", in: "rdtx.k1", want: false},
		{desc: "absurd version", in: "rdt1234567890.k1", want: false},
		{desc: "legacy", in: Legacy("127.0.0.1:6379", "s3cret"), want: false},
		{desc: "static secret", in: "correct horse battery staple", want: false},
		{desc: "empty", in: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := LooksSigned(tt.in); got != tt.want {
				t.Errorf("LooksSigned(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
