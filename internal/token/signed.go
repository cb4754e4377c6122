package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// MaxTokenLen bounds a signed or legacy token. Longer input is refused
// before any decoding, so a client cannot make the proxy base64-decode or
// hash megabytes per AUTH. Real tokens stay well under 1 KiB.
const MaxTokenLen = 2048

// NotBeforeLeeway tolerates an issuer whose clock runs ahead of the proxy's.
// It applies to NotBefore only: expiry is never extended.
const NotBeforeLeeway = 30 * time.Second

const (
	prefix  = "rdt"
	prefix1 = "rdt1."
	sigLen  = sha256.Size
	// sigB64Len is the unpadded base64 length of a 32-byte HMAC.
	sigB64Len = (sigLen*8 + 5) / 6
)

// b64 is canonical unpadded base64url: Strict refuses non-zero trailing
// bits, which would otherwise give one signature several spellings.
var b64 = base64.RawURLEncoding.Strict()

// LooksSigned reports whether s is shaped like a signed token ("rdt",
// decimal version, '.'), so the proxy knows which verifier to use. Legacy
// tokens are standard base64, which has no '.', so they never look signed.
func LooksSigned(s string) bool {
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	i := len(prefix)
	for i < len(s) && i < len(prefix)+9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > len(prefix) && i < len(s) && s[i] == '.'
}

// Issue signs c with the first key. It sets Version, KeyID, a fresh random
// ID, IssuedAt = now and Expiry = now + ttl (both whole seconds, UTC),
// ignoring whatever c had there, and returns the token with the claims
// exactly as Verify will report them.
func (k *Keyring) Issue(c Claims, now time.Time, ttl time.Duration) (string, Claims, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Claims{}, err
	}
	return k.issue(c, now, ttl, hex.EncodeToString(id[:]))
}

// issue is Issue with the id chosen by the caller, so tests and fuzz seeds
// are reproducible.
func (k *Keyring) issue(c Claims, now time.Time, ttl time.Duration, id string) (string, Claims, error) {
	if ttl < time.Second {
		return "", Claims{}, fail(ErrInvalidClaims, "ttl shorter than 1s")
	}
	if ttl > MaxTTL {
		return "", Claims{}, fail(ErrInvalidClaims, "ttl longer than "+MaxTTL.String())
	}
	c.Version = Version
	c.KeyID = k.signer.ID
	c.ID = id
	c.IssuedAt = time.Unix(now.Unix(), 0).UTC()
	c.Expiry = time.Unix(now.Add(ttl).Unix(), 0).UTC()
	if !c.NotBefore.IsZero() {
		c.NotBefore = time.Unix(c.NotBefore.Unix(), 0).UTC()
	}
	if c.DB != nil {
		db := *c.DB // do not share the caller's variable
		c.DB = &db
	}
	if err := c.validate(); err != nil {
		return "", Claims{}, err
	}
	payload, err := encodePayload(&c)
	if err != nil {
		return "", Claims{}, fail(ErrInvalidClaims, "cannot encode claims")
	}
	signed := prefix1 + c.KeyID + "." + b64.EncodeToString(payload)
	tok := signed + "." + b64.EncodeToString(k.mac(k.signer.ID, k.signer.Secret, signed))
	if len(tok) > MaxTokenLen {
		return "", Claims{}, errTooLong
	}
	return tok, c, nil
}

func sign(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Verify checks tok and returns its claims. The order matters: size, then
// shape, then key and signature, and only then is the payload (attacker
// data until the HMAC matched) decoded. On any error the claims are zero;
// use Decode for an unauthenticated look at a refused token.
func (k *Keyring) Verify(tok string, now time.Time) (Claims, error) {
	p, err := split(tok)
	if err != nil {
		return Claims{}, err
	}
	key, ok := k.byID[p.kid]
	if !ok {
		return Claims{}, fail(ErrUnknownKey, "key id not in tokens.keys")
	}
	sig, err := b64.DecodeString(p.sig)
	if err != nil || len(sig) != sigLen {
		return Claims{}, fail(ErrMalformed, "signature is not canonical base64url of 32 bytes")
	}
	if !hmac.Equal(k.mac(p.kid, key, tok[:p.signedLen]), sig) {
		return Claims{}, fail(ErrBadSignature, "")
	}
	c, err := p.claims()
	if err != nil {
		return Claims{}, err
	}
	if !now.Before(c.Expiry) {
		return Claims{}, fail(ErrExpired, "expired at "+c.Expiry.Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && now.Add(NotBeforeLeeway).Before(c.NotBefore) {
		return Claims{}, fail(ErrNotYetValid, "valid from "+c.NotBefore.Format(time.RFC3339))
	}
	return c, nil
}

// Decode parses tok WITHOUT checking its signature or the clock, for
// `redoubt token inspect`. Never route on its result.
func Decode(tok string) (Claims, error) {
	p, err := split(tok)
	if err != nil {
		return Claims{}, err
	}
	if sig, err := b64.DecodeString(p.sig); err != nil || len(sig) != sigLen {
		return Claims{}, fail(ErrMalformed, "signature is not canonical base64url of 32 bytes")
	}
	return p.claims()
}

// parts are the fields of a signed token, still encoded.
type parts struct {
	kid       string
	payload   string
	sig       string
	signedLen int // length of the prefix the HMAC covers
}

func (p parts) claims() (Claims, error) {
	raw, err := b64.DecodeString(p.payload)
	if err != nil {
		return Claims{}, fail(ErrMalformed, "payload is not canonical base64url")
	}
	return decodePayload(raw, p.kid)
}

// split checks a signed token's shape without decoding anything. Every
// byte must be in the base64url alphabet or '.', which also shuts out the
// CR and LF that Go's base64 decoders skip even in Strict mode.
func split(tok string) (parts, error) {
	if len(tok) > MaxTokenLen {
		return parts{}, errTooLong
	}
	if !LooksSigned(tok) {
		return parts{}, fail(ErrMalformed, "not a signed token")
	}
	if !strings.HasPrefix(tok, prefix1) {
		return parts{}, fail(ErrUnsupportedVersion, "this proxy knows version "+strconv.Itoa(Version)+" only")
	}
	rest := tok[len(prefix1):]
	for i := 0; i < len(rest); i++ {
		if !isB64URLByte(rest[i]) && rest[i] != '.' {
			return parts{}, fail(ErrMalformed, "character outside base64url")
		}
	}
	kid, rest, ok1 := strings.Cut(rest, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	switch {
	case !ok1 || !ok2:
		return parts{}, fail(ErrMalformed, "too few fields")
	case strings.IndexByte(sig, '.') >= 0:
		return parts{}, fail(ErrMalformed, "too many fields")
	case !validKeyID(kid):
		return parts{}, fail(ErrMalformed, "bad key id")
	case payload == "":
		return parts{}, fail(ErrMalformed, "empty payload")
	case len(sig) != sigB64Len:
		return parts{}, fail(ErrMalformed, "signature has the wrong length")
	}
	return parts{kid: kid, payload: payload, sig: sig, signedLen: len(tok) - len(sig) - 1}, nil
}
