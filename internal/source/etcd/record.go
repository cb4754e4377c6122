package etcd

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

// Record is the JSON value of a key <prefix>tenants/<name>: the admin
// API's tenant plus its credentials, with secrets only as SHA-256 digests.
//
//	{"upstream": "main", "db": 3, "role": "readwrite", "commands": "-keys",
//	 "credentials": [{"id": "a", "secret_sha256": "<64 hex>", "expires_at": "2027-01-01T00:00:00Z"}]}
type Record struct {
	Upstream string `json:"upstream"`
	DB       *int   `json:"db,omitempty"`
	Role     string `json:"role,omitempty"`
	Commands string `json:"commands,omitempty"`
	// ShareDB and EndSessionsAtExpiry are as in the file's tenants.
	ShareDB             bool               `json:"share_db,omitempty"`
	EndSessionsAtExpiry *bool              `json:"end_sessions_at_expiry,omitempty"`
	Credentials         []CredentialRecord `json:"credentials"`
}

// CredentialRecord is one credential of a Record.
type CredentialRecord struct {
	ID           string     `json:"id"`
	SecretSHA256 string     `json:"secret_sha256"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
}

// tenantsDir is where tenant keys live under the prefix.
const tenantsDir = "tenants/"

// decode turns one key and value into a tenant, or says which field is
// wrong. Unknown JSON fields are refused, as unknown keys in the file are:
// a misspelt "role" must not quietly become the default.
func decode(prefix, key string, value []byte) (view.Tenant, *view.Rejection) {
	bad := func(field, format string, args ...any) (view.Tenant, *view.Rejection) {
		return view.Tenant{}, &view.Rejection{Entry: key, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	name := strings.TrimPrefix(key, prefix+tenantsDir)
	if !view.ValidName(name) {
		return bad("", "the key's last part must be a tenant name (letters, digits, '.', '_', '-')")
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return bad("", "not a tenant record: %v", jsonError(err))
	}
	t := view.Tenant{Name: name, Upstream: r.Upstream, DB: r.DB, Role: r.Role, Commands: r.Commands,
		ShareDB: r.ShareDB, EndSessionsAtExpiry: r.EndSessionsAtExpiry, Origin: key}
	for i, c := range r.Credentials {
		d, err := hex.DecodeString(c.SecretSHA256)
		if err != nil || len(d) != 32 {
			return bad(fmt.Sprintf("credentials[%d].secret_sha256", i), "want 64 hex digits (the SHA-256 of the secret)")
		}
		vc := view.Credential{ID: c.ID}
		copy(vc.Digest[:], d)
		if c.ExpiresAt != nil {
			vc.ExpiresAt = *c.ExpiresAt
		}
		if c.CreatedAt != nil {
			vc.CreatedAt = *c.CreatedAt
		}
		t.Credentials = append(t.Credentials, vc)
	}
	if rej := view.Check(key, &t); rej != nil {
		rej.Field = jsonField(rej.Field, r.Credentials)
		return view.Tenant{}, rej
	}
	return t, nil
}

// jsonField maps the field names view.Check uses ("secret.<id>") to this
// format's JSON path.
func jsonField(field string, creds []CredentialRecord) string {
	id, ok := strings.CutPrefix(field, "secret.")
	if !ok {
		if field == "secret" {
			return "credentials"
		}
		return field
	}
	for i, c := range creds {
		if c.ID == id {
			return fmt.Sprintf("credentials[%d].id", i)
		}
	}
	return "credentials"
}

// jsonError keeps encoding/json's description of a syntax or type error
// but not the offending value, which could be a misplaced secret.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("JSON syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: want %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return err.Error()[len("json: "):]
	}
	return "invalid JSON"
}
