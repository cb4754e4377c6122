package proxy

import (
	"strings"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// Observer hears of the data path's timings and refusals, for metrics. It
// is called on the hot path: implementations keep to atomics and
// pre-resolved series (the admin package's does).
type Observer interface {
	// UpstreamDial reports one upstream dial and login: how long it took
	// and whether it failed.
	UpstreamDial(upstream string, d time.Duration, err error)
	// Tenant returns the recorder for one tenant's session, resolved once
	// at login so commands do not look the tenant up again.
	Tenant(name string) TenantObserver
	// AuthFailed is a failed AUTH; tenant is the configured tenant the
	// client named, or "" (a bad credential names none, and a name a
	// client typed is never used as a label unless it is a tenant's).
	AuthFailed(tenant string)
}

// TenantObserver records one tenant's commands.
type TenantObserver interface {
	// Command is one inspected command's time from being forwarded
	// upstream to its reply arriving.
	Command(d time.Duration)
	// Denied is a command the proxy refused; reason is one of the
	// Deny* constants.
	Denied(reason string)
}

// Reasons a command is refused (a metric label: a fixed, small set).
const (
	DenyUnknown     = "unknown_command" // no such command (or subcommand)
	DenyRole        = "role"            // the tenant's role or rules do not allow it
	DenyIsolation   = "isolation"       // it would escape the tenant's DB on a shared upstream
	DenyUnsupported = "unsupported"     // the proxy cannot relay it (MULTI cases, CLIENT REPLY)
)

// denyReason classifies a refusal by its Redis error, so the relay's many
// deny calls need no extra argument.
func denyReason(msg string) string {
	switch {
	case strings.HasPrefix(msg, "ERR unknown"), strings.HasPrefix(msg, "ERR empty command"):
		return DenyUnknown
	case strings.HasPrefix(msg, "NOPERM") && strings.Contains(msg, "command: "):
		return DenyIsolation
	case strings.HasPrefix(msg, "NOPERM"):
		return DenyRole
	case strings.Contains(msg, "shared upstream"):
		return DenyIsolation
	}
	return DenyUnsupported
}

type nopObserver struct{}

func (nopObserver) UpstreamDial(string, time.Duration, error) {}
func (nopObserver) Tenant(string) TenantObserver              { return nopObserver{} }
func (nopObserver) Command(time.Duration)                     {}
func (nopObserver) Denied(string)                             {}
func (nopObserver) AuthFailed(string)                         {}

// namedTenant is the configured tenant an AUTH's user names, or "".
func (s *Server) namedTenant(user []byte) string {
	if len(user) == 0 {
		return ""
	}
	if t, ok := s.directory().Lookup(string(user)); ok {
		return t.Name
	}
	return ""
}

// auditEvent turns the audit call's key/value attributes into the audit
// log's schema.
func auditEvent(sess *Session, event string, attrs []any) audit.Event {
	e := audit.Event{Event: event, SessionID: sess.ID, Source: sess.ClientAddr, Success: event == "auth_ok"}
	for i := 0; i+1 < len(attrs); i += 2 {
		k, _ := attrs[i].(string)
		v, _ := attrs[i+1].(string)
		switch k {
		case "tenant":
			e.Tenant = v
		case "reason":
			e.Reason = v
		case "method":
			e.Method = v
		case "upstream":
			e.Upstream = v
		case "command":
			e.Command = v
		case "credential_id":
			e.CredentialID = v
		}
	}
	if e.Tenant == "" {
		if id := sess.Identity(); id != nil {
			e.Tenant = id.Tenant
		}
	}
	if id := sess.Identity(); id != nil {
		if e.Upstream == "" && id.Route != nil && id.Route.Target != nil {
			e.Upstream = id.Route.Target.Name
		}
		if id.Tenant == e.Tenant {
			if e.CredentialID == "" {
				e.CredentialID = credentialOf(id)
			}
			if e.Method == "" {
				e.Method = id.Method
			}
		}
	}
	return e
}

// credentialOf names the credential a session logged in with: the tenant
// credential's id for a secret (what the control plane revokes), a signed
// token's id for a token, "" otherwise (mTLS, legacy tokens without one).
func credentialOf(id *tenant.Identity) string {
	if id.CredentialID != "" {
		return id.CredentialID
	}
	return id.TokenID
}

// authOK is the auth_ok audit event's attributes: tenant, method and,
// when there is one, the credential's id (never its secret).
func authOK(id *tenant.Identity) []any {
	attrs := []any{"tenant", id.Tenant, "method", id.Method}
	if c := credentialOf(id); c != "" {
		attrs = append(attrs, "credential_id", c)
	}
	return attrs
}

// ConnLimits returns limits.max_connections and limits.max_conns_per_tenant
// in force (0: unlimited), for the metrics next to the session counts.
func (s *Server) ConnLimits() (total, perTenant int) {
	l := s.limits()
	return l.MaxConnections, l.MaxConnsPerTenant
}
