package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// MinKeyLen is the shortest signing secret accepted: HMAC-SHA256 gains
// nothing from longer keys, and shorter ones invite guessable passphrases.
const MinKeyLen = 32

// Key is one HMAC-SHA256 signing key.
type Key struct {
	ID     string // 1-32 of [A-Za-z0-9_-]; appears in every token it signs
	Secret []byte
}

// Keyring holds the keys of tokens.keys. The first key signs new tokens;
// every key verifies, so a key can be added in front, used, and the old
// one removed later without refusing tokens in flight.
type Keyring struct {
	signer Key
	byID   map[string][]byte
	// macs holds, per key id, HMAC-SHA256 hashes keyed with that key, so a
	// login does not derive the inner and outer pads again (see mac).
	macs map[string]*sync.Pool
}

// NewKeyring checks and copies keys. It refuses an empty list, bad or
// duplicate ids and secrets shorter than MinKeyLen; errors name key ids,
// never secrets.
func NewKeyring(keys []Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("token: no signing keys")
	}
	k := &Keyring{byID: make(map[string][]byte, len(keys))}
	var errs []error
	for i, key := range keys {
		switch {
		case !validKeyID(key.ID):
			errs = append(errs, fmt.Errorf("token: key %d: id must be 1-32 of [A-Za-z0-9_-]", i))
			continue
		case len(key.Secret) < MinKeyLen:
			errs = append(errs, fmt.Errorf("token: key %q: secret shorter than %d bytes", key.ID, MinKeyLen))
		}
		if _, dup := k.byID[key.ID]; dup {
			errs = append(errs, fmt.Errorf("token: key %q: duplicate id", key.ID))
			continue
		}
		k.byID[key.ID] = append([]byte(nil), key.Secret...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	k.signer = Key{ID: keys[0].ID, Secret: k.byID[keys[0].ID]}
	k.macs = make(map[string]*sync.Pool, len(k.byID))
	for id, secret := range k.byID {
		k.macs[id] = &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
	}
	return k, nil
}

// mac is HMAC-SHA256 of msg under the key kid, whose secret is key. It is
// sign(key, msg), computed with a pooled hash already keyed.
func (k *Keyring) mac(kid string, key []byte, msg string) []byte {
	p := k.macs[kid]
	if p == nil {
		return sign(key, msg)
	}
	h := p.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(msg))
	sum := h.Sum(nil)
	p.Put(h)
	return sum
}

// SigningKeyID is the id of the key Issue signs with.
func (k *Keyring) SigningKeyID() string { return k.signer.ID }

// validKeyID keeps key ids inside the token alphabet and free of '.', the
// field separator.
func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isB64URLByte(id[i]) {
			return false
		}
	}
	return true
}

func isB64URLByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
