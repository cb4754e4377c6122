package store

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

// record is a tenant as written to the store: JSON, so a field added
// later reads back as its zero value from an older file. Add fields here
// when model.Tenant grows.
type record struct {
	Upstream            string       `json:"upstream"`
	DB                  *int         `json:"db,omitempty"`
	Role                string       `json:"role"`
	Commands            string       `json:"commands,omitempty"`
	ShareDB             bool         `json:"share_db,omitempty"`
	EndSessionsAtExpiry *bool        `json:"end_sessions_at_expiry,omitempty"`
	Credentials         []credRecord `json:"credentials"`
	limitsRecord
}

// limitsRecord are the tenant's own fair-sharing limits, inline under the
// keys of the file and the API; an absent key is nil (the default).
type limitsRecord struct {
	MaxOpsPerSecond   *int64 `json:"max_ops_per_second,omitempty"`
	MaxBytesPerSecond *int64 `json:"max_bytes_per_second,omitempty"`
	MaxRequestBytes   *int64 `json:"max_request_bytes,omitempty"`
	MaxValueBytes     *int64 `json:"max_value_bytes,omitempty"`
	MaxOffset         *int64 `json:"max_offset,omitempty"`
	MaxKeys           *int64 `json:"max_keys,omitempty"`
	MaxMemoryBytes    *int64 `json:"max_memory_bytes,omitempty"`
}

type credRecord struct {
	ID        string     `json:"id"`
	SHA256    string     `json:"sha256"` // digest of the secret, never the secret
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func encodeTenant(t *model.Tenant) ([]byte, error) {
	r := record{Upstream: t.Upstream, DB: t.DB, Role: t.Role, Commands: t.Commands, ShareDB: t.ShareDB,
		EndSessionsAtExpiry: t.EndSessionsAtExpiry, Credentials: make([]credRecord, 0, len(t.Credentials)),
		limitsRecord: limitsRecord(t.Limits)}
	for _, c := range t.Credentials {
		cr := credRecord{ID: c.ID, SHA256: hex.EncodeToString(c.Digest[:]), CreatedAt: c.CreatedAt.UTC()}
		if !c.ExpiresAt.IsZero() {
			e := c.ExpiresAt.UTC()
			cr.ExpiresAt = &e
		}
		r.Credentials = append(r.Credentials, cr)
	}
	return json.Marshal(r)
}

func decodeTenant(name string, v []byte) (model.Tenant, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return model.Tenant{}, err
	}
	t := model.Tenant{Name: name, Source: model.SourceStore, Upstream: r.Upstream, DB: r.DB, Role: r.Role,
		Commands: r.Commands, ShareDB: r.ShareDB, EndSessionsAtExpiry: r.EndSessionsAtExpiry,
		Limits: model.Limits(r.limitsRecord)}
	for _, cr := range r.Credentials {
		d, err := hex.DecodeString(cr.SHA256)
		if err != nil || len(d) != 32 {
			return model.Tenant{}, fmt.Errorf("credential %q: bad digest", cr.ID)
		}
		c := model.Credential{ID: cr.ID, CreatedAt: cr.CreatedAt}
		copy(c.Digest[:], d)
		if cr.ExpiresAt != nil {
			c.ExpiresAt = *cr.ExpiresAt
		}
		t.Credentials = append(t.Credentials, c)
	}
	return t, nil
}
