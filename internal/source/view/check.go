package view

import (
	"fmt"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/policy"
)

// Check applies the rules every source shares to a decoded tenant: a role
// redoubt knows, command rules that compile, a non-negative DB, valid
// credential IDs that are not repeated, at least one credential. Whether
// the upstream exists and the DB fits it is decided on the merged view.
// It returns the first problem as a rejection of entry.
func Check(entry string, t *Tenant) *Rejection {
	bad := func(field, format string, args ...any) *Rejection {
		return &Rejection{Entry: entry, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if t.Upstream == "" {
		return bad("upstream", "required")
	}
	if !ValidName(t.Upstream) {
		return bad("upstream", "not an upstream name")
	}
	switch t.Role {
	case "":
		t.Role = config.DefaultRole // deny by default: never full unless asked
	case config.RoleFull, config.RoleReadWrite, config.RoleReadOnly:
	default:
		return bad("role", "%q: want full, readwrite or readonly", t.Role)
	}
	if t.DB != nil && *t.DB < 0 {
		return bad("db", "%d: must be 0 or more", *t.DB)
	}
	if _, err := policy.Compile(t.Role, t.Commands); err != nil {
		return bad("commands", "%v", err)
	}
	if len(t.Credentials) == 0 {
		return bad("secret", "no credential")
	}
	seen := map[string]bool{}
	for _, c := range t.Credentials {
		if !ValidName(c.ID) {
			return bad("secret."+c.ID, "credential ID may hold letters, digits, '.', '_' and '-'")
		}
		if seen[c.ID] {
			return bad("secret."+c.ID, "credential ID %q given twice", c.ID)
		}
		seen[c.ID] = true
	}
	return nil
}

// ValidName is the rule for upstream names and credential IDs.
func ValidName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
