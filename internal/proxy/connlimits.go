package proxy

import (
	"syscall"

	"github.com/redoubt-proxy/redoubt/internal/config"
)

// Connection limits that are not set (0) are derived from the process's
// descriptor limit, so that by default neither one tenant nor one
// unauthenticated source can use up the gateway's descriptors, and one
// tenant cannot use up an upstream's maxclients:
//
//	max_connections               (nofile - fdReserve) / 2: a logged-in session holds two
//	                              descriptors (client and upstream)
//	max_unauthenticated           max_connections / 8: kept for clients still logging in;
//	                              logged-in sessions may hold only the rest (login headroom)
//	max_unauthenticated_per_addr  max_unauthenticated / 4, at least 32, at most 128
//	max_conns_per_tenant          a quarter of the sessions, at most 2000 (a fifth of
//	                              redis-server's default maxclients of 10000)
//
// -1 switches a limit off. Go raises the soft descriptor limit to the hard
// limit when the process starts, so nofile is the hard limit.
const (
	fdReserve            = 128 // listeners, admin, logs, pooled splice pipes, DNS
	maxDefaultPerAddr    = 128
	minDefaultPerAddr    = 32
	maxDefaultPerTenant  = 2000
	minDerivedConnection = 16
)

// noFile returns the soft RLIMIT_NOFILE (0 if unknown).
func noFile() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

// connLimits are the effective connection limits; 0 means no limit.
type connLimits struct {
	total, unauth, perAddr, perTenant int
}

// sessions is how many logged-in sessions fit: the total minus the
// headroom kept for logins.
func (c connLimits) sessions() int {
	if c.total <= 0 {
		return 0
	}
	return max(c.total-c.unauth, 1)
}

// deriveConnLimits fills unset limits from nofile as documented above.
func deriveConnLimits(l *config.Limits, nofile uint64) connLimits {
	fromFDs := minDerivedConnection
	if nofile > fdReserve+2*minDerivedConnection {
		fromFDs = int(min((nofile-fdReserve)/2, 1<<30))
	}
	var c connLimits
	c.total = pick(l.MaxConnections, fromFDs)
	base := c.total
	if base <= 0 {
		base = fromFDs
	}
	c.unauth = pick(l.MaxUnauthenticated, min(max(base/8, 1), max(base-1, 1)))
	ub := c.unauth
	if ub <= 0 {
		ub = max(base/8, 1)
	}
	// Room for a client pool opening its connections at once, but never
	// all of the logins' room for one source.
	c.perAddr = pick(l.MaxUnauthenticatedPerAddr, min(max(ub/4, minDefaultPerAddr), ub, maxDefaultPerAddr))
	sb := c.sessions()
	if sb <= 0 {
		sb = max(fromFDs-max(fromFDs/8, 1), 1)
	}
	c.perTenant = pick(l.MaxConnsPerTenant, min(max(sb/4, 1), maxDefaultPerTenant))
	return c
}

// pick is v when set, def when 0, and 0 (no limit) when negative.
func pick(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}
