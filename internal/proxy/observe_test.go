package proxy

import (
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/command"
	"github.com/redoubt-proxy/redoubt/internal/policy"
)

// TestDenyReason classifies the relay's real refusal messages (built by
// the policy package, as the relay builds them) into the metric's reasons.
func TestDenyReason(t *testing.T) {
	get := command.Lookup([]byte("get"))
	for _, tc := range []struct {
		desc, msg, want string
	}{
		{"unknown command", policy.UnknownMessage([][]byte{[]byte("nosuch"), []byte("x")}), DenyUnknown},
		{"unknown subcommand", policy.UnknownMessage([][]byte{[]byte("client"), []byte("nosuch")}), DenyUnknown},
		{"empty command", policy.UnknownMessage(nil), DenyUnknown},
		{"role", policy.DenyMessage(get, []byte("get")), DenyRole},
		{"isolation with a reason", policy.DenyMessage(get, nil) + ": key tracking spans every DB of a shared Redis", DenyIsolation},
		{"shared upstream", "ERR command not supported through redoubt on a shared upstream", DenyIsolation},
		{"MULTI", "ERR redoubt: AUTH inside MULTI is not supported", DenyUnsupported},
		{"CLIENT REPLY", "ERR CLIENT REPLY is not supported through redoubt: it would break reply ordering", DenyUnsupported},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := denyReason(tc.msg); got != tc.want {
				t.Errorf("denyReason(%q) = %q, want %q", tc.msg, got, tc.want)
			}
		})
	}
}
