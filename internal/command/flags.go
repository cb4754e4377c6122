package command

import "strings"

// Flags are a command's Redis command flags (the "command_flags" of Redis's
// command metadata, plus "movablekeys", which Redis derives from the key
// specs). Names follow Redis's spelling with underscores removed.
type Flags uint32

// Command flags, in the order Redis's COMMAND INFO lists them. The last five
// are hidden by COMMAND INFO but present in the metadata.
const (
	FlagWrite Flags = 1 << iota
	FlagReadonly
	FlagDenyoom
	FlagModule
	FlagAdmin
	FlagPubsub
	FlagNoscript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagAsking
	FlagFast
	FlagNoAuth
	FlagNoMandatoryKeys
	FlagNoAsyncLoading
	FlagNoMulti
	FlagMovablekeys
	FlagAllowBusy
	FlagMayReplicate
	FlagSentinel
	FlagOnlySentinel
	FlagProtected
	FlagTouchesArbitraryKeys
)

// flagNames are the lowercase Redis names, indexed by bit position.
var flagNames = [...]string{
	"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
	"blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
	"fast", "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi",
	"movablekeys", "allow_busy", "may_replicate", "sentinel", "only_sentinel",
	"protected", "touches_arbitrary_keys",
}

// VisibleFlags are the flags COMMAND INFO shows; Redis hides the others.
const VisibleFlags = FlagMayReplicate - 1

// Has reports whether all flags in x are set.
func (f Flags) Has(x Flags) bool { return f&x == x }

// Names returns the Redis names of the set flags, in bit order.
func (f Flags) Names() []string {
	var out []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func (f Flags) String() string { return strings.Join(f.Names(), ",") }
