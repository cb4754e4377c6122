package policy

import (
	"slices"
	"strings"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

// DenyMessage returns the error (without the leading '-') for a command the
// policy refuses, worded as Redis words it so clients and their users
// recognise it: "NOPERM this user has no permissions to run the 'flushall'
// command". For an unknown command (c nil) it is Redis's "ERR unknown
// command 'name'"; UnknownMessage gives the full form with arguments.
func DenyMessage(c *command.Command, name []byte) string {
	if c == nil {
		return "ERR unknown command '" + clip(name) + "'"
	}
	return "NOPERM this user has no permissions to run the '" + c.Name + "' command"
}

// denyBecause is DenyMessage with the reason the isolation refuses c.
func denyBecause(c *command.Command, why string) string {
	return DenyMessage(c, nil) + ": " + why
}

// UnknownMessage returns Redis's error for args naming no command:
// "ERR unknown subcommand 'x'. Try CLIENT HELP." when args[0] is a
// container, else "ERR unknown command 'x', with args beginning with: 'a' 'b' ".
// Arguments are cut at 128 bytes as Redis cuts them, and CR/LF become
// spaces so client input cannot break the reply stream.
func UnknownMessage(args [][]byte) string {
	if len(args) == 0 {
		return "ERR empty command"
	}
	if c := command.Lookup(args[0]); c != nil && len(c.Subcommands) > 0 && len(args) > 1 {
		return "ERR unknown subcommand '" + clip(args[1]) + "'. Try " + strings.ToUpper(c.Name) + " HELP."
	}
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(clip(args[0]))
	b.WriteString("', with args beginning with: ")
	n := 0
	for _, a := range args[1:] {
		if n >= 128 {
			break
		}
		a = a[:min(len(a), 128-n)]
		b.WriteString("'" + clean(a) + "' ")
		n += len(a) + 3
	}
	return b.String()
}

// clip is Redis's %.128s followed by its CR/LF scrub.
func clip(b []byte) string { return clean(b[:min(len(b), 128)]) }

// clean replaces CR and LF with spaces, byte by byte (other bytes, valid
// UTF-8 or not, pass through as Redis passes them).
func clean(b []byte) string {
	out := slices.Clone(b)
	for i, ch := range out {
		if ch == '\r' || ch == '\n' {
			out[i] = ' '
		}
	}
	return string(out)
}
