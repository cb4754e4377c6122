package proxy

import (
	"time"

	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// claimOf is the tenant a login names for the throttle: the user name
// when it is a configured tenant, else "" (AUTH <secret>, user "default",
// or a token given with any user name). Unknown names all count as "", so
// inventing names neither escapes the throttle nor fills its memory.
func (s *Server) claimOf(user []byte) string {
	if len(user) == 0 || string(user) == "default" {
		return ""
	}
	if _, ok := s.directory().Lookup(string(user)); ok {
		return string(user)
	}
	return ""
}

// tryLogin checks one credential of a login (AUTH, or an AUTH option of
// HELLO) and returns the identity, or the reply that refuses it. Every
// refused credential gets the same WRONGPASS, whatever was wrong; only a
// throttled claim gets its own error, which does not depend on the secret.
func (cn *conn) tryLogin(pre *tenant.Identity, user, pass []byte) (*tenant.Identity, []byte) {
	s, addr := cn.srv, cn.sess.ClientAddr
	claim := s.claimOf(user)
	if claim != "" && s.throttle.blocked(addr, claim) {
		return nil, cn.throttled(claim)
	}
	if claim == "" {
		// The secret names the tenant: check it, but one at a time once
		// this source has used up its failures (see throttle).
		maxWait := time.Until(cn.start.Add(s.limits().AuthTimeout.D())) - 100*time.Millisecond
		wait, ok := s.throttle.reserve(addr, maxWait)
		if !ok {
			return nil, cn.throttled("")
		}
		if wait > 0 {
			time.Sleep(wait)
		}
	}
	id, err := cn.authenticate(pre, user, pass)
	if err == nil && claim == "" && s.throttle.blocked(addr, id.Tenant) {
		// The secret is this tenant's, whose own failures from this source
		// are used up: AUTH <secret> must not get around that.
		return nil, cn.throttled(id.Tenant)
	}
	if err != nil {
		s.metrics.authFailures.Add(1)
		s.throttle.fail(addr, claim)
		return nil, replyWrongPass
	}
	return id, nil
}

// throttled refuses a login without looking at its secret.
func (cn *conn) throttled(claim string) []byte {
	cn.srv.metrics.refused.Add(1)
	cn.srv.audit(cn.sess, "auth_throttled", "claimed_tenant", claim)
	return replyTooManyFailed
}

// reauth checks AUTH (or HELLO's AUTH) on a logged-in session. It
// succeeds only for the session's own tenant: a connection stays with the
// tenant it logged in as (one route, one policy, one audit trail). Every
// failure, including another tenant's valid credential, is counted like a
// failed login (throttle and auth failure metric) and gets the same
// WRONGPASS, so a guess inside a session learns no more than one outside.
// It never waits: it runs on the relay. A claim or source whose failures
// are used up is refused without looking at the secret.
func (s *Server) reauth(sess *Session, user, pass []byte) bool {
	addr, cur := sess.ClientAddr, sess.Identity()
	claim := s.claimOf(user)
	if s.throttle.blocked(addr, claim) {
		s.metrics.refused.Add(1)
		s.audit(sess, "auth_throttled", "claimed_tenant", claim, "reauth", true)
		return false
	}
	id, err := s.directory().Authenticate(user, pass)
	switch {
	case err == nil && id.Tenant == cur.Tenant && !s.throttle.blocked(addr, id.Tenant):
		s.audit(sess, "auth_ok", append(authOK(id), "reauth", true)...)
		return true
	case err == nil:
		s.audit(sess, "auth_fail", "reason", "credential of another tenant or throttled", "reauth", true)
	default:
		s.audit(sess, "auth_fail", "reason", reason(err), "reauth", true)
	}
	s.metrics.authFailures.Add(1)
	s.throttle.fail(addr, claim)
	return false
}
