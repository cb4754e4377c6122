package policy

import (
	"strconv"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// Action is what the proxy does with a command of a tenant pinned to one DB
// of a shared upstream, beyond the role check.
type Action uint8

// The zero Action is Deny, so a missing classification fails closed.
const (
	// Deny: answer the accompanying error; never forward.
	Deny Action = iota
	// Allow: forward unchanged. The command stays inside the current DB.
	Allow
	// RewriteFlushAll: forward as FLUSHDB with the same arguments
	// (ASYNC/SYNC kept): FLUSHALL would empty every tenant's DB.
	RewriteFlushAll
	// SelectPinned: SELECT of the pinned DB; forwarded like any allowed
	// command, so the reply is the upstream's own (the connection is in
	// that DB already, nothing changes). SELECT of any other DB is Deny.
	SelectPinned
	// FilterInfoKeyspace: forward, then sanitize the reply with SanitizeInfo
	// (only the fields in infoFields that tell nothing about other tenants
	// or the host, and only the pinned DB's line of "# Keyspace").
	FilterInfoKeyspace
	// FilterClientList: forward, then keep only the lines of the reply
	// that are this tenant's own upstream connections (match by client
	// id, which the tenant cannot change, not by name, which it can).
	FilterClientList
	// PrefixPubSub: channel and pattern arguments get the tenant's prefix
	// on the way in and lose it on the way out (pub/sub is global, not
	// per DB). Keyspace notifications (__keyspace@N__) then cannot be
	// reached: the prefixed name never matches what the server publishes.
	PrefixPubSub
	// ResetLocal: RESET would put the upstream connection back in DB 0 and
	// log it out; the proxy resets its own session state, logs in upstream
	// again and re-selects the pinned DB.
	ResetLocal
	// Authenticate: AUTH, or HELLO with AUTH; the session layer answers
	// it and it is never forwarded (it would log the shared upstream
	// connection in as whatever user the client names).
	Authenticate
)

// Classifications that depend on the arguments; Isolate resolves them to
// one of the actions above.
const (
	checkSelect Action = 100 + iota
	checkCopy
	checkTracking
	checkHello
	checkScript
)

// Scope is what the isolation knows about a shared tenant's upstream
// connection.
type Scope struct {
	// DB is the pinned DB.
	DB int
	// TenantUser: the connection is logged in as the tenant's own upstream
	// ACL user, whose rules keep it in DB (upstreams.NAME.tenant_users).
	// Redis checks every command a script or function runs against the
	// rules of the user running it, so scripts are allowed then: a script
	// that SELECTs another DB fails at the upstream.
	TenantUser bool
}

// IsolateIn classifies c, invoked with args (args[0] is the command name),
// for a tenant on a shared upstream in scope s, and gives the error text
// when the action is Deny. It applies whatever the tenant's role; the role
// check (Policy.Allowed) comes first. An unknown command is denied.
// IsolateIn does not allocate unless it denies with a message naming an
// argument.
func IsolateIn(c *command.Command, args [][]byte, s Scope) (Action, string) {
	if c == nil {
		return Deny, UnknownMessage(args)
	}
	pinnedDB := s.DB
	r := isolation[c.ID]
	switch r.action {
	case checkScript:
		if s.TenantUser {
			return Allow, ""
		}
		return Deny, r.message
	case checkSelect:
		return isolateSelect(c, args, pinnedDB)
	case checkCopy:
		return isolateCopy(c, args, pinnedDB)
	case checkTracking:
		// Redis tracks keys by name in one table for all DBs, so any
		// tracking (not just REDIRECT or BCAST) would deliver invalidations
		// for writes by other tenants to keys of the same name.
		if len(args) >= 3 && equalFold(args[2], "off") {
			return Allow, ""
		}
		return Deny, denyBecause(c, "key tracking spans every DB of a shared Redis")
	case checkHello:
		for _, a := range args[min(len(args), 2):] {
			if equalFold(a, "auth") {
				return Authenticate, ""
			}
		}
		return Allow, ""
	case Deny:
		return Deny, r.message
	}
	return r.action, ""
}

func isolateSelect(c *command.Command, args [][]byte, pinnedDB int) (Action, string) {
	if len(args) != 2 {
		return Deny, "ERR wrong number of arguments for 'select' command"
	}
	if db, ok := parseDB(args[1]); ok && db == pinnedDB {
		return SelectPinned, ""
	}
	return Deny, denyBecause(c, "this connection is pinned to DB "+strconv.Itoa(pinnedDB))
}

// isolateCopy walks COPY's options as Redis's copyCommand does (the last
// DB option wins there, so every one must name the pinned DB).
func isolateCopy(c *command.Command, args [][]byte, pinnedDB int) (Action, string) {
	for j := 3; j < len(args); j++ {
		if !equalFold(args[j], "db") {
			continue
		}
		if j+1 >= len(args) {
			break // Redis answers a syntax error
		}
		if db, ok := parseDB(args[j+1]); !ok || db != pinnedDB {
			return Deny, denyBecause(c, "COPY ... DB may only name the pinned DB "+strconv.Itoa(pinnedDB))
		}
		j++
	}
	return Allow, ""
}

// parseDB parses a DB index in Redis's strict integer form (no sign, no
// leading zeros, no spaces), so "03" or "+3" can never pass as DB 3 here
// and be read differently upstream.
func parseDB(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	n := 0
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int(ch-'0')
	}
	return n, true
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != s[i] {
			return false
		}
	}
	return true
}
