package model

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// FieldError is one problem with a tenant, tied to the key it is about
// ("db", "credentials[1].id"). The messages are the ones `redoubt check`
// gives for a file tenant, so the admin API answers with the same words.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Checks are validations that need packages model does not import.
type Checks struct {
	// Commands checks a tenant's extra rules against the command table;
	// nil = only the +/- syntax is checked.
	Commands func(rules string) error
}

// ValidName is the charset for tenant, upstream and credential names:
// they appear in metrics labels, log lines and token claims.
func ValidName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9',
			r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// ValidateTenant reports what is wrong with t by itself, against the
// upstreams it may name. What is wrong only next to other tenants (a
// shared DB, an unpinned tenant on a shared upstream) is Merge's to find.
func ValidateTenant(t *Tenant, ups map[string]Upstream, c Checks) []FieldError {
	var p []FieldError
	add := func(path, format string, args ...any) {
		p = append(p, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if t.Name == "" {
		add("name", "required")
	} else if !ValidName(t.Name) {
		add("name", "may contain only letters, digits, '.', '_' and '-'")
	}
	u, upOK := ups[t.Upstream]
	switch {
	case t.Upstream == "":
		add("upstream", "required")
	case !upOK:
		add("upstream", "unknown upstream %q", t.Upstream)
	}
	switch t.Role {
	case RoleFull, RoleReadWrite, RoleReadWriteStrict, RoleReadOnly:
	default:
		add("role", "unknown role %q (want full, readwrite, readwrite-strict or readonly)", t.Role)
	}
	if upOK {
		validateTenantUser(t, u, add)
	}
	if t.DB != nil {
		maxDB := DefaultMaxDB
		if upOK {
			maxDB = u.MaxDB
		}
		switch {
		case *t.DB < 0 || *t.DB > maxDB:
			hint := ""
			if upOK {
				hint = fmt.Sprintf(" (set upstreams.%s.max_db to allow more)", t.Upstream)
			}
			add("db", "%d out of range 0..%d%s", *t.DB, maxDB, hint)
		case *t.DB != 0 && upOK && u.Auth.Mode == AuthAWSIAM && u.Auth.Serverless:
			add("db", "%d, but upstream %q is ElastiCache Serverless, which has DB 0 only", *t.DB, t.Upstream)
		}
	}
	if err := commandsSyntax(t.Commands); err != nil {
		add("commands", "%v", err)
	} else if c.Commands != nil && t.Commands != "" {
		if err := c.Commands(t.Commands); err != nil {
			add("commands", "%v", err)
		}
	}
	for i, cr := range t.Credentials {
		if !ValidName(cr.ID) {
			add(fmt.Sprintf("credentials[%d].id", i), "required; letters, digits, '.', '_' and '-' only, at most 128")
		}
		for j := range i { // a tenant has a few credentials: no map needed
			if t.Credentials[j].ID == cr.ID {
				add(fmt.Sprintf("credentials[%d].id", i), "duplicate credential %q (first at credentials[%d])", cr.ID, j)
				break
			}
		}
		if cr.Digest == [32]byte{} {
			add(fmt.Sprintf("credentials[%d]", i), "no secret")
		}
	}
	validateLimits(t, add)
	return p
}

// validateTenantUser checks the tenant's own upstream login against its
// upstream's tenant_users (the file's check gives the same rules with
// its key names; this is the backstop for every other source, which
// cannot carry an upstream password).
func validateTenantUser(t *Tenant, u Upstream, add func(path, format string, args ...any)) {
	if u.TenantUsers != TenantUsersProvided {
		if t.UpstreamUser != "" || t.UpstreamPassword != "" {
			add("upstream_user", "only used when upstream %q has tenant_users: provided", t.Upstream)
		}
		return
	}
	if t.UpstreamUser == "" {
		add("upstream_user", "required: upstream %q has tenant_users: provided (tenants of such an upstream are defined in the configuration file)", t.Upstream)
	}
	if t.UpstreamPassword == "" && u.Auth.Mode != AuthAWSIAM {
		add("upstream_password_env", "required: upstream %q has tenant_users: provided", t.Upstream)
	}
}

// commandsSyntax checks extra rules: whitespace-separated tokens, each
// "+something" or "-something".
func commandsSyntax(rules string) error {
	for _, tok := range strings.Fields(rules) {
		if len(tok) < 2 || (tok[0] != '+' && tok[0] != '-') {
			return fmt.Errorf("rule %q must be +COMMAND, -COMMAND, +@CATEGORY or -@CATEGORY", tok)
		}
	}
	return nil
}

// CanonicalAddr is an address as compared for sharing: host lowercased,
// trailing dot dropped, IPv4-mapped IPv6 unmapped. "localhost:6379" and
// "127.0.0.1:6379" are not recognized as the same server.
func CanonicalAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
	}
	return net.JoinHostPort(host, port)
}
