package token

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// goldenLegacy was computed outside Go with coreutils:
//
//	h=$(printf '%s' "127.0.0.1:6379 s3cret" | sha256sum | cut -d' ' -f1)
//	printf '%s' "127.0.0.1:6379 $h" | base64 -w0
const goldenLegacy = "MTI3LjAuMC4xOjYzNzkgOWFlNDI2NjJlZmZhNGE1ZTMwNjhlNzcyYTVmYjlhZTM2YmJhOWVmZmI1MzhhMTcyYTVjYTIwOTI0NGYxZDA2MQ=="

func TestLegacyVector(t *testing.T) {
	// The same vector built by hand from the format's definition.
	sum := sha256.Sum256([]byte("127.0.0.1:6379 s3cret"))
	byHand := base64.StdEncoding.EncodeToString([]byte("127.0.0.1:6379 " + hex.EncodeToString(sum[:])))
	if byHand != goldenLegacy {
		t.Fatalf("by-hand vector %q != coreutils vector %q", byHand, goldenLegacy)
	}
	if got := Legacy("127.0.0.1:6379", "s3cret"); got != goldenLegacy {
		t.Errorf("Legacy = %q, want %q", got, goldenLegacy)
	}
	up, err := VerifyLegacy(goldenLegacy, "s3cret")
	if err != nil || up != "127.0.0.1:6379" {
		t.Errorf("VerifyLegacy = %q, %v", up, err)
	}
}

func TestLegacyRoundTrip(t *testing.T) {
	tests := []struct {
		desc     string
		upstream string
	}{
		{desc: "ipv4", upstream: "10.0.0.5:6379"},
		{desc: "name", upstream: "my-cache.abc123.use1.cache.amazonaws.com:6379"},
		{desc: "ipv6", upstream: "[fd00::5]:6380"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			tok := Legacy(tt.upstream, "s3cret")
			up, err := VerifyLegacy(tok, "s3cret")
			if err != nil || up != tt.upstream {
				t.Fatalf("VerifyLegacy = %q, %v; want %q", up, err, tt.upstream)
			}
			if _, err := VerifyLegacy(tok, "other"); !errors.Is(err, ErrBadSignature) {
				t.Errorf("wrong secret: err = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerifyLegacyRejects(t *testing.T) {
	sum := sha256.Sum256([]byte("127.0.0.1:6379 s3cret"))
	hash := hex.EncodeToString(sum[:])
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		desc   string
		tok    string
		secret string
		want   error
	}{
		{desc: "empty secret", tok: Legacy("127.0.0.1:6379", ""), secret: "", want: ErrUnknownKey},
		{desc: "empty", tok: "", secret: "s3cret", want: ErrMalformed},
		{desc: "not base64", tok: "not base64!", secret: "s3cret", want: ErrMalformed},
		{desc: "unpadded", tok: strings.TrimRight(goldenLegacy, "="), secret: "s3cret", want: ErrMalformed},
		{desc: "url-safe alphabet byte", tok: goldenLegacy[:4] + "_" + goldenLegacy[5:], secret: "s3cret", want: ErrMalformed},
		{desc: "newline inside", tok: goldenLegacy[:10] + "\n" + goldenLegacy[10:], secret: "s3cret", want: ErrMalformed},
		{desc: "uppercase hash", tok: enc("127.0.0.1:6379 " + strings.ToUpper(hash)), secret: "s3cret", want: ErrMalformed},
		{desc: "two spaces", tok: enc("127.0.0.1:6379  " + hash), secret: "s3cret", want: ErrMalformed},
		{desc: "tab", tok: enc("127.0.0.1:6379\t" + hash), secret: "s3cret", want: ErrMalformed},
		{desc: "trailing newline", tok: enc("127.0.0.1:6379 " + hash + "\n"), secret: "s3cret", want: ErrMalformed},
		{desc: "short hash", tok: enc("127.0.0.1:6379 " + hash[:63]), secret: "s3cret", want: ErrMalformed},
		{desc: "no port", tok: enc("127.0.0.1 " + hash), secret: "s3cret", want: ErrMalformed},
		{desc: "route with fragment, hash matches", tok: Legacy("evil.com#.x:6379", "s3cret"), secret: "s3cret", want: ErrMalformed},
		{desc: "hash of another route", tok: enc("127.0.0.2:6379 " + hash), secret: "s3cret", want: ErrBadSignature},
		{desc: "too long", tok: strings.Repeat("A", MaxTokenLen+4), secret: "s3cret", want: ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			up, err := VerifyLegacy(tt.tok, tt.secret)
			if !errors.Is(err, tt.want) || up != "" {
				t.Fatalf("VerifyLegacy = %q, %v; want %v", up, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "127.0.0") {
				t.Errorf("error %q leaks the secret or token text", err)
			}
		})
	}
}

func TestVerifyLegacyRejectsEverySingleByteTamper(t *testing.T) {
	tried := 0
	for i := 0; i < len(goldenLegacy); i++ {
		orig := goldenLegacy[i]
		for _, b := range []byte{orig ^ 0x01, orig ^ 0x20, orig + 1, 'A', 'a', '0', '+', '/', '=', '-', '\n', 0x00} {
			if b == orig {
				continue
			}
			bad := goldenLegacy[:i] + string([]byte{b}) + goldenLegacy[i+1:]
			if up, err := VerifyLegacy(bad, "s3cret"); err == nil {
				t.Fatalf("byte %d changed %q->%q verified as %q", i, orig, b, up)
			}
			tried++
		}
	}
	for n := 0; n < len(goldenLegacy); n++ {
		if _, err := VerifyLegacy(goldenLegacy[:n], "s3cret"); err == nil {
			t.Fatalf("prefix of length %d verified", n)
		}
	}
	if tried < 10*len(goldenLegacy) {
		t.Fatalf("only %d tampers tried", tried)
	}
}
