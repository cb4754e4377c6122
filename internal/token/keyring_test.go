package token

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestNewKeyring(t *testing.T) {
	tests := []struct {
		desc    string
		keys    []Key
		wantErr string // substring; "" means success
	}{
		{desc: "one key", keys: []Key{{ID: "k1", Secret: secret('a')}}},
		{desc: "two keys", keys: []Key{{ID: "k2", Secret: secret('b')}, {ID: "k1", Secret: secret('a')}}},
		{desc: "no keys", keys: nil, wantErr: "no signing keys"},
		{desc: "empty id", keys: []Key{{ID: "", Secret: secret('a')}}, wantErr: "id must be"},
		{desc: "dot in id", keys: []Key{{ID: "k.1", Secret: secret('a')}}, wantErr: "id must be"},
		{desc: "id too long", keys: []Key{{ID: strings.Repeat("k", 33), Secret: secret('a')}}, wantErr: "id must be"},
		{desc: "short secret", keys: []Key{{ID: "k1", Secret: []byte("short-but-secret")}}, wantErr: "shorter than 32"},
		{desc: "duplicate id", keys: []Key{{ID: "k1", Secret: secret('a')}, {ID: "k1", Secret: secret('b')}}, wantErr: "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			k, err := NewKeyring(tt.keys)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewKeyring: %v", err)
				}
				if k.SigningKeyID() != tt.keys[0].ID {
					t.Errorf("signing key %q, want the first, %q", k.SigningKeyID(), tt.keys[0].ID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			for _, key := range tt.keys {
				if len(key.Secret) > 0 && strings.Contains(err.Error(), string(key.Secret)) {
					t.Errorf("error reveals a secret: %v", err)
				}
			}
		})
	}
}

// The keyring must not alias the caller's secret: zeroing the config's copy
// after building the ring must not change what verifies.
func TestNewKeyringCopiesSecrets(t *testing.T) {
	s := secret('a')
	k := mustKeyring(t, Key{ID: "k1", Secret: s})
	tok, _, err := k.Issue(Claims{Tenant: "alice"}, t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	copy(s, bytes.Repeat([]byte{0}, len(s)))
	if _, err := k.Verify(tok, t0); err != nil {
		t.Fatalf("Verify after the caller's secret changed: %v", err)
	}
}
