package token

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// The legacy format of the original proxy:
//
//	base64.StdEncoding("HOST:PORT HASH"), HASH = lowercase hex sha256("HOST:PORT SECRET")
//
// It has no expiry, no key id and no token id: anyone with a token can use
// it forever, and the only way to revoke one is to change the secret, which
// revokes them all. It is kept for compatibility only.

// legacyHashLen is the length of the hex SHA-256 in a legacy token.
const legacyHashLen = 2 * sha256.Size

// legacyB64 is padded standard base64 that refuses non-zero padding bits.
var legacyB64 = base64.StdEncoding.Strict()

// Legacy returns the legacy token for upstream under secret.
func Legacy(upstream, secret string) string {
	return legacyB64.EncodeToString([]byte(upstream + " " + legacyHash(upstream, secret)))
}

func legacyHash(upstream, secret string) string {
	sum := sha256.Sum256([]byte(upstream + " " + secret))
	return hex.EncodeToString(sum[:])
}

// VerifyLegacy checks a legacy token against secret and returns the route
// it names. Parsing is strict, so each route has exactly one token: the
// base64 must be canonical, the hash lowercase, the separator one space and
// the route a valid HOST:PORT. The hash is compared in constant time.
func VerifyLegacy(tok, secret string) (upstream string, err error) {
	if len(tok) > MaxTokenLen {
		return "", errTooLong
	}
	if secret == "" {
		// With an empty secret anyone could compute a valid hash.
		return "", fail(ErrUnknownKey, "no legacy secret configured")
	}
	for i := 0; i < len(tok); i++ {
		if !isStdB64Byte(tok[i]) {
			return "", fail(ErrMalformed, "character outside standard base64")
		}
	}
	raw, err := legacyB64.DecodeString(tok)
	if err != nil {
		return "", fail(ErrMalformed, "not canonical standard base64")
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return "", fail(ErrMalformed, "no space between route and hash")
	}
	route, hash := s[:i], s[i+1:]
	if len(hash) != legacyHashLen || !isLowerHex(hash) {
		return "", fail(ErrMalformed, "hash is not 64 lowercase hex digits")
	}
	if err := ValidateUpstream(route); err != nil {
		return "", fail(ErrMalformed, "route: "+err.Error())
	}
	want := legacyHash(route, secret)
	if subtle.ConstantTimeCompare([]byte(want), []byte(hash)) != 1 {
		return "", fail(ErrBadSignature, "")
	}
	return route, nil
}

func isStdB64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
