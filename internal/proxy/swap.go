package proxy

import (
	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// Swap installs a new directory and limits (a control-plane snapshot),
// then ends the live sessions the new directory no longer allows, each
// with its own reason in the disconnect line ("revoked", "expired",
// "tenant removed", "route changed"). It returns how many it ended.
// Connection caps, the login throttle, the tenants' fair-sharing state
// and the request memory budget follow the new limits at once.
func (s *Server) Swap(dir *tenant.Directory, lim config.Limits) int {
	s.dir.Store(dir)
	s.lim.Store(&lim)
	s.setConnLimits(&lim)
	s.throttle.configure(lim.AuthFailPerAddr, lim.AuthFailWindow.D())
	s.reloadLimits(lim)
	s.reqMem.setLimit(requestBudget(&lim)) // the inspecting relay's request memory budget
	return s.reg.CloseEach(dir.Check)
}

// CloseEach ends every logged-in session for which check says no, with
// the reason it gives, and returns how many.
func (r *Registry) CloseEach(check func(*tenant.Identity) (bool, string)) int {
	type victim struct {
		s   *Session
		why string
	}
	r.mu.Lock()
	var victims []victim
	for _, s := range r.sessions {
		if id := s.identity.Load(); id != nil {
			if ok, why := check(id); !ok {
				victims = append(victims, victim{s, why})
			}
		}
	}
	r.mu.Unlock()
	for _, v := range victims {
		v.s.Close(v.why)
	}
	return len(victims)
}
