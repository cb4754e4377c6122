package proxy

import (
	"errors"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/resp"
)

// FuzzInspectHandle feeds arbitrary client bytes through parse -> decide
// for a pinned tenant with every command allowed by its role, so every
// isolation branch is reachable. It must never panic, never drop a
// pending reply, and never send bytes upstream without queueing the reply
// they will produce (that would shift every later reply by one).
func FuzzInspectHandle(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		"*1\r\n$8\r\nFLUSHALL\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
		"MULTI\r\nCONFIG GET x\r\nEXEC\r\n",
		"SUBSCRIBE a b\r\nUNSUBSCRIBE\r\nPUBSUB NUMPAT\r\nPUBLISH a x\r\n",
		"RESET\r\nAUTH x\r\nHELLO 3 AUTH a b\r\nCLIENT REPLY OFF\r\nQUIT\r\n",
		"EVAL \"redis.call('select',4)\" 0\r\nSWAPDB 3 4\r\nCOPY a b DB 4\r\nINFO keyspace\r\nCLIENT LIST\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := newBenchInspector(t, "full", 3)
		for len(data) > 0 {
			n, err := resp.ParseCommand(data, &in.cmd, &in.lim)
			if errors.Is(err, resp.ErrIncomplete) || err != nil {
				return
			}
			before := in.q.len()
			out := len(in.upOut)
			if len(in.cmd.Args) > 0 {
				in.decide(data[:n], in.cmd.Args)
				if in.q.len() < before {
					t.Fatalf("queue shrank on %q", data[:n])
				}
				if in.q.len() == before && len(in.upOut) != out {
					t.Fatalf("bytes sent upstream with no reply pending for %q", data[:n])
				}
			}
			data = data[n:]
		}
	})
}

// FuzzReplies feeds arbitrary upstream bytes to the reply side after a few
// commands were decided. It must never panic, and a stream it accepts
// must leave the queue consistent: a request is only ever completed by a
// reply, so the queue can only shrink by what came.
func FuzzReplies(f *testing.F) {
	for _, s := range [][2]string{
		{"SUBSCRIBE a b\r\nUNSUBSCRIBE\r\nINFO\r\n", "*3\r\n$9\r\nsubscribe\r\n$5\r\nt:a:a\r\n:1\r\n-ERR x\r\n$3\r\nabc\r\n"},
		{"RESET\r\nLRANGE l 0 -1\r\n", "+RESET\r\n+OK\r\n*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\ny\r\n"},
		{"HELLO 3\r\nPSUBSCRIBE p*\r\nCLIENT LIST\r\n", "%1\r\n$5\r\nproto\r\n:3\r\n>3\r\n$10\r\npsubscribe\r\n$6\r\nt:a:p*\r\n:1\r\n$4\r\nid=1\r\n"},
		{"MULTI\r\nGET k\r\nEXEC\r\n", "+OK\r\n+QUEUED\r\n*1\r\n$1\r\nv\r\n"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, cmds, replies []byte) {
		in := newBenchInspector(t, "full", 3)
		in.prefix = []byte("t:a:")
		for len(cmds) > 0 {
			n, err := resp.ParseCommand(cmds, &in.cmd, &in.lim)
			if err != nil {
				break
			}
			if len(in.cmd.Args) > 0 {
				in.decide(cmds[:n], in.cmd.Args)
			}
			cmds = cmds[n:]
		}
		st := newUpState(in.lim, nil)
		in.mu.Lock()
		defer in.mu.Unlock()
		_ = in.consume(st, replies)
		if in.q.size < 0 || in.q.local < 0 || in.q.unsafe < 0 {
			t.Fatalf("queue accounting broken: %+v", in.q)
		}
	})
}
