package tenantuser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/model"
	"github.com/redoubt-proxy/redoubt/internal/upstream"
)

// AdminFunc builds the target that logs in to upstream name with its own
// configured login (upstreams.NAME.auth), which must be allowed to run
// ACL SETUSER, ACL USERS and ACL DELUSER.
type AdminFunc func(name string, u model.Upstream) (*upstream.Target, error)

// Manager creates and maintains the managed upstream users of every
// upstream with tenant_users: managed. Passwords are 256 random bits made
// once per process and kept in memory only; they are added to the users
// (never reset), so several redoubt replicas in front of one Redis each
// keep working with their own password.
type Manager struct {
	log *slog.Logger

	mu sync.Mutex
	// servers is keyed by upstream address: two upstream entries for one
	// server share one set of users.
	servers map[string]*server
}

type server struct {
	admin   *upstream.Target
	users   map[string]*user // by tenant
	applied time.Time        // last successful apply
}

type user struct {
	name, pass string
	db         int
	readOnly   bool
}

// New returns a Manager with no users.
func New(log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{log: log, servers: map[string]*server{}}
}

// Sync makes the managed users match snap, the merged view of every
// source: every tenant of an upstream with tenant_users: managed has a
// user pinned to its DB, and users named redoubt-* of tenants that are
// gone are deleted. It applies them at once when they changed (an
// unchanged set is not sent again: a store change among thousands of
// tenants costs no round trips to the upstreams it does not touch); an
// upstream that cannot be reached is logged and repaired at the first
// login that fails (see Credentials). Sync never fails the caller: the
// routes are built either way, and a missing user refuses logins, it does
// not open anything.
func (m *Manager) Sync(ctx context.Context, snap *model.Snapshot, admin AdminFunc) {
	want := map[string]*server{}
	names := make([]string, 0, len(snap.Upstreams))
	for name, u := range snap.Upstreams {
		if u.TenantUsers == model.TenantUsersManaged {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	byUpstream := make(map[string][]*model.Tenant, len(names))
	for i := range snap.Tenants {
		t := &snap.Tenants[i]
		byUpstream[t.Upstream] = append(byUpstream[t.Upstream], t)
	}
	for _, name := range names {
		u := snap.Upstreams[name]
		s, ok := want[u.Address]
		if !ok {
			t, err := admin(name, u)
			if err != nil {
				m.log.Error("tenant users: upstream login", "upstream", name, "err", err)
				continue
			}
			s = &server{admin: t, users: map[string]*user{}}
			want[u.Address] = s
		}
		for _, t := range byUpstream[name] {
			s.users[t.Name] = &user{name: UserName(t.Name), db: t.PinnedDB(), readOnly: t.Role == model.RoleReadOnly}
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for addr, s := range want {
		old, had := m.servers[addr]
		// Keep the passwords made earlier in this process.
		if had {
			for tenant, u := range s.users {
				if ou, ok := old.users[tenant]; ok {
					u.pass = ou.pass
				}
			}
		}
		for _, u := range s.users {
			if u.pass == "" {
				u.pass = newPassword()
			}
		}
		if had && !old.applied.IsZero() && sameUsers(old.users, s.users) {
			s.applied = old.applied
			continue
		}
		if err := m.applyLocked(ctx, s); err != nil {
			m.log.Error("tenant users: could not apply; retried at the next failed login", "upstream", s.admin.Name, "err", err)
		}
	}
	for addr, old := range m.servers {
		if _, ok := want[addr]; !ok {
			// tenant_users switched off or the upstream removed: delete our users.
			old.users = nil
			if err := m.applyLocked(ctx, old); err != nil {
				m.log.Warn("tenant users: could not delete the users of a removed upstream", "upstream", old.admin.Name, "err", err)
			}
		}
	}
	m.servers = want
}

// sameUsers reports whether two sets of users would be applied alike
// (passwords are carried over before the comparison).
func sameUsers(a, b map[string]*user) bool {
	if len(a) != len(b) {
		return false
	}
	for tenant, u := range a {
		v, ok := b[tenant]
		if !ok || *u != *v {
			return false
		}
	}
	return true
}

// Credentials returns the login of tenant's managed user on the upstream
// at address. The user is looked up at each login, so routes can be built
// before Sync has run with their configuration (a reload builds first and
// syncs only what built): a login for a user Sync does not know fails, and
// the session gets "upstream unavailable", never the upstream's own login.
// The returned value repairs the users when a login with them is refused.
func (m *Manager) Credentials(address, tenant string) upstream.Credentials {
	return &creds{m: m, address: address, tenant: tenant}
}

// creds is one tenant's managed login.
type creds struct {
	m       *Manager
	address string
	tenant  string
}

// Credentials implements upstream.Credentials.
func (c *creds) Credentials(context.Context) (string, string, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	s, ok := c.m.servers[c.address]
	if !ok || s.users[c.tenant] == nil {
		return "", "", fmt.Errorf("tenant %s has no managed upstream user any more", c.tenant)
	}
	u := s.users[c.tenant]
	return u.name, u.pass, nil
}

// Repair implements upstream.Repairer: a login with the user was refused
// (WRONGPASS, NOAUTH: the upstream restarted without them, or someone
// deleted or changed them), so apply the users again, unless that was done
// after since: after an upstream restart every session's login fails at
// once, and one apply serves them all.
func (c *creds) Repair(ctx context.Context, since time.Time) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	s, ok := c.m.servers[c.address]
	if !ok {
		return errors.New("no managed users for this upstream")
	}
	if s.applied.After(since) {
		return nil // done by another session's login meanwhile
	}
	c.m.log.Warn("tenant users: upstream refused a managed user; applying the users again", "upstream", s.admin.Name, "tenant", c.tenant)
	return c.m.applyLocked(ctx, s)
}

// applyLocked sets every user of s (ACL SETUSER with its rules and
// password) and deletes users named redoubt-* that s does not have.
func (m *Manager) applyLocked(ctx context.Context, s *server) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a, err := dialAdmin(ctx, s.admin)
	if err != nil {
		return err
	}
	defer a.Close()
	keep := map[string]bool{}
	for tenant, u := range s.users {
		keep[u.name] = true
		args := append([]string{"ACL", "SETUSER", u.name}, Rules(tenant, u.db, u.readOnly)...)
		args = append(args, ">"+u.pass)
		v, err := a.do(args...)
		if err != nil {
			return err
		}
		if isError(v) {
			return fmt.Errorf("ACL SETUSER %s: %s", u.name, v.Str)
		}
	}
	v, err := a.do("ACL", "USERS")
	if err != nil {
		return err
	}
	if isError(v) {
		return fmt.Errorf("ACL USERS: %s", v.Str)
	}
	for _, e := range v.Elems {
		name := string(e.Str)
		if !strings.HasPrefix(name, UserPrefix) || keep[name] {
			continue
		}
		// Redis also disconnects the clients logged in as the user.
		if v, err := a.do("ACL", "DELUSER", name); err != nil {
			return err
		} else if isError(v) {
			return fmt.Errorf("ACL DELUSER %s: %s", name, v.Str)
		}
		m.log.Info("tenant users: deleted the user of a removed tenant", "upstream", s.admin.Name, "user", name)
	}
	s.applied = time.Now()
	m.log.Info("tenant users: applied", "upstream", s.admin.Name, "users", len(s.users))
	return nil
}

// newPassword returns 256 random bits in hex.
func newPassword() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return hex.EncodeToString(b[:])
}
