package etcd

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDecodeRecord(t *testing.T) {
	d := sha256.Sum256([]byte("s"))
	hx := hex.EncodeToString(d[:])
	tests := []struct {
		desc, key, value string
		wantField        string // "" with wantErr=false: accepted
		wantErr          bool
	}{
		{desc: "complete", key: "/r/tenants/alice", value: `{"upstream":"main","db":3,"role":"readonly","commands":"-keys","credentials":[{"id":"a","secret_sha256":"` + hx + `","expires_at":"2027-01-01T00:00:00Z"}]}`},
		{desc: "default role", key: "/r/tenants/bob", value: `{"upstream":"main","credentials":[{"id":"a","secret_sha256":"` + hx + `"}]}`},
		{desc: "bad name in key", key: "/r/tenants/a/b", value: `{}`, wantErr: true},
		{desc: "not JSON", key: "/r/tenants/x", value: `{"upstream":`, wantErr: true},
		{desc: "unknown field", key: "/r/tenants/x", value: `{"upstream":"main","rol":"full","credentials":[]}`, wantErr: true},
		{desc: "bad digest", key: "/r/tenants/x", value: `{"upstream":"main","credentials":[{"id":"a","secret_sha256":"abc"}]}`, wantErr: true, wantField: "credentials[0].secret_sha256"},
		{desc: "duplicate id", key: "/r/tenants/x", value: `{"upstream":"main","credentials":[{"id":"a","secret_sha256":"` + hx + `"},{"id":"a","secret_sha256":"` + hx + `"}]}`, wantErr: true, wantField: "credentials[0].id"},
		{desc: "no credentials", key: "/r/tenants/x", value: `{"upstream":"main","credentials":[]}`, wantErr: true, wantField: "credentials"},
		{desc: "bad role", key: "/r/tenants/x", value: `{"upstream":"main","role":"root","credentials":[{"id":"a","secret_sha256":"` + hx + `"}]}`, wantErr: true, wantField: "role"},
		{desc: "db a string", key: "/r/tenants/x", value: `{"upstream":"main","db":"3","credentials":[]}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, rej := decode("/r/", tc.key, []byte(tc.value))
			if !tc.wantErr {
				if rej != nil {
					t.Fatalf("rejected: %v", rej)
				}
				if got.Name != strings.TrimPrefix(tc.key, "/r/tenants/") || got.Credentials[0].Digest != d || got.Role == "" {
					t.Fatalf("decoded %+v", got)
				}
				return
			}
			if rej == nil {
				t.Fatalf("accepted %+v", got)
			}
			if rej.Entry != tc.key || rej.Field != tc.wantField {
				t.Fatalf("rejection %+v, want field %q", rej, tc.wantField)
			}
			if strings.Contains(rej.Reason, hx) {
				t.Fatalf("reason repeats the digest: %q", rej.Reason)
			}
		})
	}
}
