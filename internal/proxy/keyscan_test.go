package proxy

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// A KEYS answered by SCAN holds its reply until the last step: past
// collectFree that is charged to the request memory budget, a reply that
// does not fit is refused in its place, and the charge always comes back.
func TestKeysReplyIsCharged(t *testing.T) {
	// One SCAN step (cursor 0) returning n keys of 40 bytes.
	scanReply := func(n int) (string, []string) {
		var b strings.Builder
		keys := make([]string, n)
		fmt.Fprintf(&b, "*2\r\n$1\r\n0\r\n*%d\r\n", n)
		for i := range keys {
			keys[i] = fmt.Sprintf("key:%036d", i)
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(keys[i]), keys[i])
		}
		return b.String(), keys
	}
	for _, tc := range []struct {
		desc   string
		budget int64
		keys   int
		fits   bool
	}{
		{"small, never charged", 1 << 10, 100, true},
		{"large, within the budget", 64 << 20, 40000, true},
		{"large, over the budget", 2 << 20, 40000, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in, out := newRecordingInspector(t)
			mem := &memBudget{}
			mem.limit.Store(tc.budget)
			in.cr = newSockReader(nil, newBufPool(4<<10), nil)
			in.cr.limitRequests(mem, 1<<30)
			send(t, in, "KEYS *\r\n")
			if !in.keysBusy.Load() {
				t.Fatal("KEYS did not start a SCAN iteration")
			}
			reply, keys := scanReply(tc.keys)
			in.mu.Lock()
			err := in.consume(newUpState(in.lim, nil), []byte(reply))
			in.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if in.keysBusy.Load() || in.q.len() != 0 {
				t.Fatal("the iteration did not complete its request")
			}
			if !tc.fits {
				if out.String() != string(replyKeysTooLarge) {
					t.Fatalf("client got %.80q, want the refusal", out.String())
				}
			} else {
				var want bytes.Buffer
				fmt.Fprintf(&want, "*%d\r\n", len(keys))
				for _, k := range keys {
					fmt.Fprintf(&want, "$%d\r\n%s\r\n", len(k), k)
				}
				if !bytes.Equal(out.Bytes(), want.Bytes()) {
					t.Fatalf("client got %.80q…, want the %d keys", out.String(), len(keys))
				}
			}
			if got := mem.used.Load(); got != 0 {
				t.Fatalf("%d bytes still charged after the reply", got)
			}
		})
	}
}
