package proxy

import (
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/tenant"
)

// Session is one client connection, registered from accept to close so it
// can be listed, counted per tenant and ended (revocation, shutdown, admin).
type Session struct {
	ID         uint64
	ClientAddr string
	Listener   string
	Start      time.Time
	BytesIn    atomic.Int64 // client -> upstream
	BytesOut   atomic.Int64 // upstream -> client

	identity atomic.Pointer[tenant.Identity]
	// upstreamID is the upstream's CLIENT ID for this session's connection
	// (inspected sessions), so CLIENT LIST can show a tenant its own.
	upstreamID atomic.Int64
	mu         sync.Mutex
	client     net.Conn
	up         net.Conn
	// kill ends a session whose sockets have moved to an event loop (the
	// net.Conns above are closed then).
	kill   func()
	closed bool
	reason string

	// inspector is the inspecting relay of the session, if any (PUBSUB
	// NUMPAT counts the patterns of all a tenant's sessions).
	inspector atomic.Pointer[inspector]
}

// Identity is nil until the session has logged in.
func (s *Session) Identity() *tenant.Identity { return s.identity.Load() }

func (s *Session) setUpstream(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.up = c
	return true
}

// setKill hands the session's ending to an event loop; false when the
// session was already ended.
func (s *Session) setKill(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.kill = f
	return true
}

// Close ends the session from outside (revocation, shutdown, admin API).
func (s *Session) Close(reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed, s.reason = true, reason
	client, up, kill := s.client, s.up, s.kill
	s.mu.Unlock()
	if kill != nil {
		kill()
		return
	}
	// Wake every parked read and write on both sockets first: Close waits
	// for a relay inside a socket's poller callback, and that relay may be
	// blocked writing to the other socket.
	past := time.Unix(1, 0)
	_ = client.SetDeadline(past)
	if up != nil {
		_ = up.SetDeadline(past)
	}
	client.Close()
	if up != nil {
		up.Close()
	}
}

// CloseReason returns why the session was ended from outside ("" if not).
func (s *Session) CloseReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// Info is a snapshot of a session for listings.
type Info struct {
	ID         uint64    `json:"id"`
	Tenant     string    `json:"tenant"`
	ClientAddr string    `json:"client_addr"`
	Upstream   string    `json:"upstream"`
	Listener   string    `json:"listener"`
	Start      time.Time `json:"start"`
	BytesIn    int64     `json:"bytes_in"`
	BytesOut   int64     `json:"bytes_out"`
	Mode       string    `json:"mode"`
	// Method is how the session logged in (secret, token, legacy, mtls).
	Method string `json:"method,omitempty"`
	// CredentialID is the tenant credential the session logged in with
	// (method secret): what the control plane revokes.
	CredentialID string `json:"credential_id,omitempty"`
	// TokenID is a signed token's id (method token), for tokens.revoked.
	TokenID string `json:"token_id,omitempty"`
	// UpstreamClientID is the upstream's CLIENT ID for this session's
	// connection: how an operator finds the session in the upstream's
	// CLIENT LIST (redoubt leaves the connection's name to the client).
	UpstreamClientID int64 `json:"upstream_client_id,omitempty"`
}

// Registry holds the live sessions.
type Registry struct {
	mu       sync.Mutex
	next     uint64
	sessions map[uint64]*Session
	perTen   map[string]int
	bound    int // sessions logged in (bound to a tenant)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{sessions: make(map[uint64]*Session), perTen: make(map[string]int)}
}

func (r *Registry) add(client net.Conn, listener string) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	s := &Session{ID: r.next, ClientAddr: client.RemoteAddr().String(), Listener: listener, Start: time.Now(), client: client}
	r.sessions[s.ID] = s
	return s
}

// Why bindTenant refused a session.
const (
	bindOK = iota
	bindTenantFull
	bindAllFull
)

// bindTenant counts the session against its tenant and against every
// logged-in session; it refuses when the tenant is at perTenant or all
// sessions at total (0 = no limit).
func (r *Registry) bindTenant(s *Session, id *tenant.Identity, perTenant, total int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := s.identity.Load(); old != nil {
		r.perTen[old.Tenant]--
		r.bound--
	}
	switch {
	case perTenant > 0 && r.perTen[id.Tenant] >= perTenant:
		return bindTenantFull
	case total > 0 && r.bound >= total:
		return bindAllFull
	}
	r.perTen[id.Tenant]++
	r.bound++
	s.identity.Store(id)
	return bindOK
}

func (r *Registry) remove(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[s.ID]; !ok {
		return
	}
	delete(r.sessions, s.ID)
	if id := s.identity.Load(); id != nil {
		r.bound--
		if r.perTen[id.Tenant]--; r.perTen[id.Tenant] <= 0 {
			delete(r.perTen, id.Tenant)
		}
	}
}

// Len is the number of live sessions.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// TenantCount is the number of live sessions of one tenant.
func (r *Registry) TenantCount(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.perTen[name]
}

// List returns every session, oldest first.
func (r *Registry) List() []Info {
	r.mu.Lock()
	all := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		all = append(all, s)
	}
	r.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	out := make([]Info, 0, len(all))
	for _, s := range all {
		in := Info{ID: s.ID, ClientAddr: s.ClientAddr, Listener: s.Listener, Start: s.Start,
			BytesIn: s.BytesIn.Load(), BytesOut: s.BytesOut.Load(), Mode: "handshake",
			UpstreamClientID: s.upstreamID.Load()}
		if id := s.identity.Load(); id != nil {
			in.Tenant, in.Upstream = id.Tenant, id.Route.Target.Name
			in.Method, in.CredentialID, in.TokenID = id.Method, id.CredentialID, id.TokenID
			in.Mode = "inspected"
			if id.Route.PassThrough {
				in.Mode = "pass-through"
			}
		}
		out = append(out, in)
	}
	return out
}

// upstreamIDs returns the upstream client ids of a tenant's sessions on
// one upstream address.
func (r *Registry) upstreamIDs(tenantName, address string) map[int64]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make(map[int64]bool)
	for _, s := range r.sessions {
		id := s.identity.Load()
		if id != nil && id.Tenant == tenantName && id.Route.Target.Address == address {
			if uid := s.upstreamID.Load(); uid > 0 {
				ids[uid] = true
			}
		}
	}
	return ids
}

// CloseWhere ends every session whose identity matches and returns how many.
func (r *Registry) CloseWhere(match func(*tenant.Identity) bool, reason string) int {
	r.mu.Lock()
	var victims []*Session
	for _, s := range r.sessions {
		if id := s.identity.Load(); id != nil && match(id) {
			victims = append(victims, s)
		}
	}
	r.mu.Unlock()
	for _, s := range victims {
		s.Close(reason)
	}
	return len(victims)
}

// CloseID ends one session.
func (r *Registry) CloseID(id uint64, reason string) bool {
	r.mu.Lock()
	s, ok := r.sessions[id]
	r.mu.Unlock()
	if ok {
		s.Close(reason)
	}
	return ok
}

// CloseAll ends every session (end of the shutdown grace period).
func (r *Registry) CloseAll(reason string) int {
	r.mu.Lock()
	all := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		all = append(all, s)
	}
	r.mu.Unlock()
	for _, s := range all {
		s.Close(reason)
	}
	return len(all)
}
