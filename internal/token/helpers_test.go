package token

import (
	"bytes"
	"testing"
	"time"
)

// t0 is the fixed "now" of the tests: 2030-01-02T03:04:05Z.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func secret(b byte) []byte { return bytes.Repeat([]byte{b}, MinKeyLen) }

func mustKeyring(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	k, err := NewKeyring(keys)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func intp(n int) *int { return &n }
