// Package tenantuser gives each tenant of a shared upstream its own
// upstream ACL user whose rules keep it in its DB. Redis checks every
// command a Lua script or function runs against the rules of the user
// running it, so with such users scripts can be allowed on a shared
// upstream: a script that SELECTs another DB, COPYs or MOVEs into it,
// FLUSHALLs or calls a server-wide command fails at the upstream.
//
// Managed users (upstreams.NAME.tenant_users: managed) are created and
// kept in step by a Manager with the upstream's own login; provided users
// (tenant_users: provided) are the operator's, and Check tells whether
// their rules would let them leave their DB.
package tenantuser

import "strconv"

// UserPrefix starts the name of every managed user: redoubt-<tenant>.
// Users with this prefix that belong to no tenant are deleted.
const UserPrefix = "redoubt-"

// UserName is the managed upstream user of tenant.
func UserName(tenant string) string { return UserPrefix + tenant }

// ChannelPrefix is the pub/sub prefix the inspecting relay gives a shared
// tenant's channels ("t:<tenant>:"); the user may publish and subscribe to
// those channels only (and to its own DB's keyspace notifications).
func ChannelPrefix(tenant string) string { return "t:" + tenant + ":" }

// Rules are the ACL SETUSER rules of tenant's user pinned to db, without
// the password. Measured on redis-server 7.0.15 (tests in this package
// and the e2e escape tests run them against a real server):
//
//   - keys: all (~*): a DB is the tenant's namespace, key names are not
//     rewritten. With key-prefix namespaces (one DB for all), ~<prefix>*
//     would go here instead.
//   - channels: the tenant's prefix and its own DB's keyspace
//     notifications, so a script cannot PUBLISH into another tenant's
//     channels. PSUBSCRIBE patterns are matched literally by Redis ACLs,
//     so a selector allows PSUBSCRIBE/PUNSUBSCRIBE on any pattern: only
//     the relay sends them (scripts cannot subscribe), always prefixed.
//   - commands: everything outside @admin and @dangerous, plus the
//     per-DB @dangerous ones (FLUSHDB KEYS SORT SORT_RO INFO RESTORE) and
//     CLIENT LIST (the relay filters it); SELECT only of db (a first-argument
//     rule); never SWAPDB MOVE COPY MIGRATE FLUSHALL (COPY's DB option
//     cannot be told apart by an ACL, so COPY goes entirely) nor MEMORY;
//     and not the server-wide parts of SCRIPT and FUNCTION.
//   - readOnly (a tenant with role readonly): no @write either, so a script
//     the tenant's rules let it run cannot write.
func Rules(tenant string, db int, readOnly bool) []string {
	d := strconv.Itoa(db)
	r := []string{
		"on", "resetkeys", "~*",
		"resetchannels", "&" + ChannelPrefix(tenant) + "*", "&__keyspace@" + d + "__:*", "&__keyevent@" + d + "__:*",
		"nocommands", "+@all", "-@admin", "-@dangerous",
		"+flushdb", "+keys", "+sort", "+sort_ro", "+info", "+restore", "+client|list",
		"-select", "+select|" + d, "-swapdb", "-move", "-copy", "-migrate", "-flushall", "-memory",
		"-script|flush", "-script|kill", "-script|debug",
		"-function|load", "-function|delete", "-function|flush", "-function|restore",
		"-function|dump", "-function|kill", "-function|stats",
		"clearselectors", "(+psubscribe +punsubscribe allchannels)",
	}
	if readOnly {
		r = append(r, "-@write")
	}
	return r
}
