package admin

import (
	"log/slog"
	"net/http"

	"github.com/redoubt-proxy/redoubt/internal/adminui"
	"github.com/redoubt-proxy/redoubt/internal/audit"
	"github.com/redoubt-proxy/redoubt/internal/proxy"
)

// mountUI serves the operator's page at /ui/ over the proxy's registry.
func mountUI(mux *http.ServeMux, p *proxy.Server, log *slog.Logger, o *Options) {
	h := adminui.New(adminui.Deps{
		Authenticate: o.Authenticate,
		Sessions: func() []adminui.Session {
			list := p.Registry().List()
			out := make([]adminui.Session, 0, len(list))
			for _, s := range list {
				out = append(out, adminui.Session{
					ID: s.ID, Tenant: s.Tenant, Upstream: s.Upstream, Mode: s.Mode, Client: s.ClientAddr,
					Method: s.Method, CredentialID: s.CredentialID, TokenID: s.TokenID,
					Start: s.Start, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
					Fixed: o.fixedCredential != nil && o.fixedCredential(s.Tenant),
				})
			}
			return out
		},
		EndSession:       func(id uint64) bool { return p.Registry().CloseID(id, "closed by admin") },
		RevokeCredential: o.RevokeCredential,
		Acted: func(subject, action, target string, err error) {
			args := []any{"audit", true, "subject", subject, "target", target}
			if err != nil {
				args = append(args, "err", err)
			}
			log.Info("admin page: "+action, args...)
			if o.Audit != nil {
				e := audit.Event{Event: "session_closed", Subject: subject, Success: err == nil, Reason: "admin page"}
				if action == "revoke_credential" {
					e.Event = "credential_revoked"
				}
				e.Reason += ": " + target
				if err != nil {
					e.Reason += ": " + err.Error()
				}
				o.Audit.Write(e)
			}
		},
	})
	mux.Handle("/ui/", h)
}
