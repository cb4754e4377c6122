package policy

import (
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

func TestDenyMessage(t *testing.T) {
	tests := []struct {
		desc, args, want string
	}{
		{desc: "command", args: "FLUSHALL", want: "NOPERM this user has no permissions to run the 'flushall' command"},
		{desc: "subcommand uses the full name", args: "client kill id 1", want: "NOPERM this user has no permissions to run the 'client|kill' command"},
		{desc: "unknown", args: "foo bar", want: "ERR unknown command 'foo'"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			a := argv(tc.args)
			if got := DenyMessage(command.LookupArgs(a), a[0]); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnknownMessage(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		desc string
		args [][]byte
		want string
	}{
		{desc: "no args", args: argv("foo"), want: "ERR unknown command 'foo', with args beginning with: "},
		{desc: "args", args: argv("foo a b"), want: "ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
		{desc: "container", args: argv("CLIENT nosuch x"), want: "ERR unknown subcommand 'nosuch'. Try CLIENT HELP."},
		{desc: "long name cut at 128", args: [][]byte{[]byte(long)},
			want: "ERR unknown command '" + long[:128] + "', with args beginning with: "},
		{desc: "args cut at 128 bytes in all", args: [][]byte{[]byte("foo"), []byte(long), []byte("b")},
			want: "ERR unknown command 'foo', with args beginning with: '" + long[:128] + "' "},
		{desc: "second arg gets the rest", args: [][]byte{[]byte("foo"), []byte(long[:100]), []byte(long)},
			want: "ERR unknown command 'foo', with args beginning with: '" + long[:100] + "' '" + long[:25] + "' "},
		{desc: "CR LF scrubbed", args: [][]byte{[]byte("a\r\nb"), []byte("\n")},
			want: "ERR unknown command 'a  b', with args beginning with: ' ' "},
		{desc: "binary kept", args: [][]byte{{0xff, 0}}, want: "ERR unknown command '\xff\x00', with args beginning with: "},
		{desc: "empty", args: nil, want: "ERR empty command"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := UnknownMessage(tc.args); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
