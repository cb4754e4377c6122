package admin

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/controlplane"
	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// api serves /v1/: tenants, credentials and sessions. Every change is an
// audit event naming the caller.
type api struct {
	plane *controlplane.Plane
	proxy *proxy.Server
	log   *slog.Logger
}

func (a *api) register(mux *http.ServeMux, auth *Authenticator) {
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, auth.Require(f)) }
	h("GET /v1/tenants", a.listTenants)
	h("PUT /v1/tenants/{name}", a.putTenant)
	h("DELETE /v1/tenants/{name}", a.deleteTenant)
	h("POST /v1/tenants/{name}/credentials", a.issueCredential)
	h("GET /v1/tenants/{name}/credentials", a.listCredentials)
	h("DELETE /v1/tenants/{name}/credentials/{id}", a.revokeCredential)
	h("GET /v1/sessions", a.listSessions)
	h("DELETE /v1/sessions/{id}", a.closeSession)
	// Anything else under /v1/ is a 404 in JSON, after authentication, so
	// an unauthenticated caller cannot map the API.
	h("/v1/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "no such endpoint") })
}

// TenantJSON is a tenant as the API shows it: never a secret.
type TenantJSON struct {
	Name        string           `json:"name"`
	Source      string           `json:"source"`
	Upstream    string           `json:"upstream"`
	DB          *int             `json:"db"`
	Role        string           `json:"role"`
	Commands    string           `json:"commands,omitempty"`
	ShareDB     bool             `json:"share_db,omitempty"`
	Mode        string           `json:"mode"` // pass-through | inspected
	Credentials []CredentialJSON `json:"credentials"`
	LimitsJSON                   // the tenant's own limits; absent = limits.tenant_defaults
}

// LimitsJSON are a tenant's own fair-sharing limits under the keys of the
// file's tenant entries (docs/policy.md): absent = the default, 0 =
// unlimited.
type LimitsJSON struct {
	MaxOpsPerSecond   *int64 `json:"max_ops_per_second,omitempty"`
	MaxBytesPerSecond *int64 `json:"max_bytes_per_second,omitempty"`
	MaxRequestBytes   *int64 `json:"max_request_bytes,omitempty"`
	MaxValueBytes     *int64 `json:"max_value_bytes,omitempty"`
	MaxOffset         *int64 `json:"max_offset,omitempty"`
	MaxKeys           *int64 `json:"max_keys,omitempty"`
	MaxMemoryBytes    *int64 `json:"max_memory_bytes,omitempty"`
}

// CredentialJSON is a credential as the API shows it.
type CredentialJSON struct {
	ID        string     `json:"id"`
	CreatedAt *time.Time `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	Secret    string     `json:"secret,omitempty"` // only in the answer that issues it
}

// ProblemJSON is an entry left out of the snapshot.
type ProblemJSON struct {
	Source string `json:"source"`
	Entry  string `json:"entry"`
	Error  string `json:"error"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (a *api) tenantJSON(snap *model.Snapshot, t *model.Tenant, withUse bool) TenantJSON {
	out := TenantJSON{Name: t.Name, Source: t.Source, Upstream: t.Upstream, DB: t.DB, Role: t.Role,
		Commands: t.Commands, ShareDB: t.ShareDB, Mode: "inspected", Credentials: []CredentialJSON{},
		LimitsJSON: LimitsJSON(t.Limits)}
	if snap.PassThrough(t) {
		out.Mode = "pass-through"
	}
	for _, c := range t.Credentials {
		cj := CredentialJSON{ID: c.ID, CreatedAt: timePtr(c.CreatedAt), ExpiresAt: timePtr(c.ExpiresAt)}
		if withUse {
			cj.LastUsed = timePtr(a.plane.LastUsed(t.Name, c.ID))
		}
		out.Credentials = append(out.Credentials, cj)
	}
	return out
}

func (a *api) listTenants(w http.ResponseWriter, _ *http.Request) {
	snap := a.plane.Current().Snapshot
	out := struct {
		Tenants  []TenantJSON  `json:"tenants"`
		Problems []ProblemJSON `json:"problems"`
	}{Tenants: make([]TenantJSON, 0, len(snap.Tenants)), Problems: []ProblemJSON{}}
	for _, name := range snap.Names() {
		t, _ := snap.Tenant(name)
		out.Tenants = append(out.Tenants, a.tenantJSON(snap, t, false))
	}
	for _, p := range snap.Problems {
		msg := p.Msg
		if p.Path != "" {
			msg = p.Path + ": " + msg
		}
		out.Problems = append(out.Problems, ProblemJSON{Source: p.Source, Entry: p.Entry, Error: msg})
	}
	writeJSON(w, http.StatusOK, out)
}

// TenantSpec is the body of PUT /v1/tenants/{name}.
type TenantSpec struct {
	Upstream            string `json:"upstream"`
	DB                  *int   `json:"db"`
	Role                string `json:"role"`
	Commands            string `json:"commands"`
	ShareDB             bool   `json:"share_db"`
	EndSessionsAtExpiry *bool  `json:"end_sessions_at_expiry"`
	LimitsJSON                 // max_* keys, validated as the file's
}

func (a *api) putTenant(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var spec TenantSpec
	if !readJSON(w, r, &spec, false) {
		return
	}
	t := model.Tenant{Name: name, Upstream: spec.Upstream, DB: spec.DB, Role: spec.Role, Commands: spec.Commands,
		ShareDB: spec.ShareDB, EndSessionsAtExpiry: spec.EndSessionsAtExpiry, Limits: model.Limits(spec.LimitsJSON)}
	created, err := a.plane.PutTenant(r.Context(), t)
	if err != nil {
		a.fail(w, r, "tenant.put", name, err)
		return
	}
	a.audit(r, "tenant.put", "tenant", name, "created", created, "upstream", t.Upstream)
	st := a.plane.Current().Snapshot
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	if mt, ok := st.Tenant(name); ok {
		writeJSON(w, code, a.tenantJSON(st, mt, false))
		return
	}
	writeJSON(w, code, map[string]string{"name": name})
}

func (a *api) deleteTenant(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := a.plane.DeleteTenant(r.Context(), name); err != nil {
		a.fail(w, r, "tenant.delete", name, err)
		return
	}
	a.audit(r, "tenant.delete", "tenant", name)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) issueCredential(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body struct {
		ID  string `json:"id"`
		TTL string `json:"ttl"`
	}
	if !readJSON(w, r, &body, true) {
		return
	}
	var ttl time.Duration
	if body.TTL != "" {
		d, err := time.ParseDuration(body.TTL)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "ttl: want a positive duration like \"8h\" or \"30m\"")
			return
		}
		ttl = d
	}
	is, err := a.plane.IssueCredential(r.Context(), name, body.ID, ttl)
	if err != nil {
		a.fail(w, r, "credential.issue", name, err)
		return
	}
	c := is.Credential
	a.audit(r, "credential.issue", "tenant", name, "credential", c.ID, "expires_at", timePtr(c.ExpiresAt))
	writeJSON(w, http.StatusCreated, CredentialJSON{ID: c.ID, Secret: is.Secret,
		CreatedAt: timePtr(c.CreatedAt), ExpiresAt: timePtr(c.ExpiresAt)})
}

func (a *api) listCredentials(w http.ResponseWriter, r *http.Request) {
	snap := a.plane.Current().Snapshot
	t, ok := snap.Tenant(r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such tenant")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenant": t.Name, "source": t.Source,
		"credentials": a.tenantJSON(snap, t, true).Credentials})
}

func (a *api) revokeCredential(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	if err := a.plane.RevokeCredential(r.Context(), name, id); err != nil {
		a.fail(w, r, "credential.revoke", name, err)
		return
	}
	a.audit(r, "credential.revoke", "tenant", name, "credential", id)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listSessions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.proxy.Registry().List())
}

func (a *api) closeSession(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || !a.proxy.Registry().CloseID(id, "closed by admin") {
		writeError(w, http.StatusNotFound, "no such session")
		return
	}
	a.audit(r, "session.close", "conn", id)
	w.WriteHeader(http.StatusNoContent)
}

// fail maps a control-plane error to an answer; refusals are audited too.
func (a *api) fail(w http.ResponseWriter, r *http.Request, action, tenantName string, err error) {
	var ve *controlplane.ValidationError
	var se *controlplane.SourceError
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &ve):
		msgs := make([]string, len(ve.Errs))
		for i, fe := range ve.Errs {
			msgs[i] = fe.Error()
		}
		a.audit(r, action+".refused", "tenant", tenantName, "err", err.Error())
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": strings.Join(msgs, "; "), "errors": msgs})
		return
	case errors.As(err, &se), errors.Is(err, model.ErrExists):
		code = http.StatusConflict
	case errors.Is(err, model.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, controlplane.ErrNoStore):
		code = http.StatusConflict
	}
	if code == http.StatusInternalServerError {
		a.log.Error("admin API", "action", action, "tenant", tenantName, "err", err)
	}
	a.audit(r, action+".refused", "tenant", tenantName, "err", err.Error())
	writeError(w, code, err.Error())
}

func (a *api) audit(r *http.Request, action string, attrs ...any) {
	a.log.Info("admin change", append([]any{"audit", true, "action", action, "subject", Subject(r),
		"remote", r.RemoteAddr}, attrs...)...)
}

// readJSON decodes a small JSON body (one object, unknown fields refused);
// an empty body is allowed when optional.
func readJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if optional {
			return true
		}
		writeError(w, http.StatusBadRequest, "a JSON body is required")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return false
	}
	// One object only: a second one after it ({...} {"db": 6}) would
	// otherwise be ignored without a word.
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "invalid JSON: data after the object")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
