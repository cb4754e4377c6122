package command

import "strings"

// Categories is a set of Redis ACL categories (@read, @write, ...).
// The table holds each command's effective categories: the explicit ones
// from Redis's metadata plus the ones Redis implies from its flags (see
// the generator), so they equal what COMMAND INFO reports.
type Categories uint32

// ACL categories, in the order of Redis's acl.c.
const (
	CatKeyspace Categories = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedset
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperloglog
	CatGeo
	CatStream
	CatPubsub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting

	// CatAll is every category: what Redis's "@all" names.
	CatAll = CatScripting<<1 - 1
)

var categoryNames = [...]string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
}

// CategoryByName returns the category named name ("read", "dangerous"; a
// leading "@" is accepted), case-insensitively as Redis does. "all"
// returns CatAll.
func CategoryByName(name string) (Categories, bool) {
	name = strings.TrimPrefix(name, "@")
	if strings.EqualFold(name, "all") {
		return CatAll, true
	}
	for i, n := range categoryNames {
		if strings.EqualFold(n, name) {
			return 1 << i, true
		}
	}
	return 0, false
}

// Has reports whether all categories in x are set.
func (c Categories) Has(x Categories) bool { return c&x == x }

// Names returns the set categories' names, without "@".
func (c Categories) Names() []string {
	var out []string
	for i, n := range categoryNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func (c Categories) String() string {
	names := c.Names()
	for i := range names {
		names[i] = "@" + names[i]
	}
	return strings.Join(names, ",")
}
