package command

import "strings"

// Lookups that only the tests need.

// CategoryNames returns every category name, without "@", in Redis's order.
func CategoryNames() []string { return categoryNames[:] }

// Count returns the number of commands and subcommands; their IDs are
// 1..Count().
func Count() int { return len(table) - 1 }

// FlagByName returns the flag with the given Redis name ("write",
// "no_multi"), case-insensitively.
func FlagByName(name string) (Flags, bool) {
	for i, n := range flagNames {
		if strings.EqualFold(n, name) {
			return 1 << i, true
		}
	}
	return 0, false
}
