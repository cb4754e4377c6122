package proxy

import (
	"testing"
	"time"

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

// recordObs is a TenantObserver that keeps what it hears.
type recordObs struct {
	cmds   int
	denied []string
}

func (o *recordObs) Command(time.Duration) { o.cmds++ }
func (o *recordObs) Denied(why string)     { o.denied = append(o.denied, why) }

// The relay reports a forwarded command's time once its reply is
// complete, and each refusal with its reason; blocking and filtered
// commands are not timed.
func TestRelayObservesCommandsAndRefusals(t *testing.T) {
	in, _ := newRecordingInspector(t)
	obs := &recordObs{}
	in.obs, in.timed = obs, true
	pol, err := policy.Compile("readwrite", "")
	if err != nil {
		t.Fatal(err)
	}
	in.pol = pol
	send(t, in, "GET a\r\nCONFIG GET x\r\nBLPOP l 0\r\nINFO keyspace\r\nSET b 1\r\n")
	if len(obs.denied) != 1 || obs.denied[0] != DenyRole {
		t.Fatalf("denied %v, want one %q", obs.denied, DenyRole)
	}
	if obs.cmds != 0 {
		t.Fatal("a command timed before its reply")
	}
	st := newUpState(in.lim, nil)
	in.mu.Lock()
	err = in.consume(st, []byte("$1\r\nv\r\n*0\r\n$10\r\n# Keyspace\r\n+OK\r\n"))
	in.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if obs.cmds != 2 { // GET and SET; not BLPOP (blocking) nor INFO (filtered)
		t.Fatalf("%d commands timed, want 2", obs.cmds)
	}
}
