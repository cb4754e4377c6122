package kubernetes

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/redoubt-proxy/redoubt/internal/source/view"
)

// TenantLabel names the tenant a Secret describes. Without it (or with an
// empty value) the tenant is called "namespace/name".
const TenantLabel = "redoubt.io/tenant"

// DefaultCredentialID is the ID of the credential in the data key "secret".
const DefaultCredentialID = "default"

// Data keys of a tenant Secret. Other keys are ignored: the application
// that mounts the same Secret may keep its connection settings beside them.
const (
	keySecret    = "secret" // or "secret.<id>", several for rotation
	keyUpstream  = "upstream"
	keyDB        = "db"
	keyRole      = "role"
	keyCommands  = "commands"
	keyExpiresAt = "expires_at" // RFC 3339, for every credential of the Secret
)

// decode turns one Secret into a tenant, or says which field is wrong.
// Secret values are hashed at once; only digests leave this function.
func decode(s *corev1.Secret) (view.Tenant, *view.Rejection) {
	entry := s.Namespace + "/" + s.Name
	t := view.Tenant{Name: s.Labels[TenantLabel], Origin: entry}
	if t.Name == "" {
		t.Name = entry
	}
	bad := func(field, reason string) (view.Tenant, *view.Rejection) {
		return view.Tenant{}, &view.Rejection{Entry: entry, Field: field, Reason: reason}
	}
	str := func(key string) string { return string(s.Data[key]) }

	t.Upstream = strings.TrimSpace(str(keyUpstream))
	t.Role = strings.TrimSpace(str(keyRole))
	t.Commands = strings.TrimSpace(str(keyCommands))
	if v, ok := s.Data[keyDB]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(string(v)))
		if err != nil {
			return bad(keyDB, "not a whole number")
		}
		t.DB = &n
	}
	var expires time.Time
	if v, ok := s.Data[keyExpiresAt]; ok {
		e, err := time.Parse(time.RFC3339, strings.TrimSpace(string(v)))
		if err != nil {
			return bad(keyExpiresAt, "want an RFC 3339 time such as 2027-01-01T00:00:00Z")
		}
		expires = e
	}
	for key, v := range s.Data {
		id, ok := credentialID(key)
		if !ok {
			continue
		}
		if len(v) == 0 {
			return bad(key, "empty secret")
		}
		t.Credentials = append(t.Credentials, view.Credential{ID: id, Digest: sha256.Sum256(v), ExpiresAt: expires})
	}
	if r := view.Check(entry, &t); r != nil {
		return view.Tenant{}, r
	}
	sortCredentials(t.Credentials)
	return t, nil
}

// credentialID maps "secret" to "default" and "secret.<id>" to <id>.
func credentialID(key string) (string, bool) {
	if key == keySecret {
		return DefaultCredentialID, true
	}
	id, ok := strings.CutPrefix(key, keySecret+".")
	return id, ok
}

func sortCredentials(cs []view.Credential) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].ID < cs[j-1].ID; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}
