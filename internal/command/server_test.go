package command

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// versionChanges are the known differences between redis-server 7.0 and
// the 7.4 metadata the table is generated from. Anything else that differs
// fails the test.
var versionChanges = map[string]string{
	"zrank":                   "7.2 added WITHSCORE: arity 3 -> -3",
	"zrevrank":                "7.2 added WITHSCORE: arity 3 -> -3",
	"command|getkeys":         "7.2 allows a command without arguments: arity -4 -> -3",
	"command|getkeysandflags": "7.2 allows a command without arguments: arity -4 -> -3",
	"wait":                    "7.2 flags WAIT as blocking (and so @blocking)",
}

// flagChanges are the known flag differences between 7.0 and 7.4.
var flagChanges = map[string]string{
	"blpop":          noscriptDropped,
	"brpop":          noscriptDropped,
	"brpoplpush":     noscriptDropped,
	"blmove":         noscriptDropped,
	"bzpopmin":       noscriptDropped,
	"bzpopmax":       noscriptDropped,
	"wait":           "7.2 flags WAIT as blocking",
	"cluster|slots":  "7.2 allows it while loading",
	"cluster|shards": "7.2 allows it while loading",
}

const noscriptDropped = "7.2 lets scripts call blocking commands (they do not block there): noscript dropped"

// TestMatchesServer checks the table against a real redis-server's
// COMMAND INFO: every command it knows is in the table with the same
// arity, ACL categories, visible flags and legacy key range.
func TestMatchesServer(t *testing.T) {
	srv := redistest.Start(t)
	reply := call(t, srv.Addr, "COMMAND", "INFO")
	infos, ok := reply.([]any)
	if !ok || len(infos) < 200 {
		t.Fatalf("COMMAND INFO: unexpected reply %v", reply)
	}
	seen := 0
	var check func(info []any)
	check = func(info []any) {
		seen++
		name := info[0].(string)
		c := ByName(name)
		if c == nil {
			t.Errorf("%s: known to the server, missing from the table", name)
			return
		}
		compare(t, name, versionChanges,
			fmt.Sprintf("arity %d keys %d,%d,%d categories %v", c.Arity, c.FirstKey, c.LastKey, c.KeyStep, c.Categories),
			fmt.Sprintf("arity %d keys %d,%d,%d categories %v", info[1], info[3], info[4], info[5], serverCategories(t, info[6])))
		compare(t, name, flagChanges,
			fmt.Sprintf("flags %v", c.Flags&VisibleFlags),
			fmt.Sprintf("flags %v", serverFlags(t, info[2])))
		for _, sub := range info[9].([]any) {
			check(sub.([]any))
		}
	}
	for _, info := range infos {
		check(info.([]any))
	}
	if seen < 300 || seen > Count() {
		t.Errorf("server has %d commands, table %d", seen, Count())
	}
	t.Logf("%d server commands checked, table has %d", seen, Count())
}

// TestKeysMatchServer compares AppendKeys with the server's COMMAND GETKEYS.
func TestKeysMatchServer(t *testing.T) {
	srv := redistest.Start(t)
	for _, line := range []string{
		"GET k1",
		"MSET k1 v k2 v",
		"COPY k1 k2 DB 1 REPLACE",
		"EVAL s 2 k1 k2 a",
		"ZUNIONSTORE k0 2 k1 k2 WEIGHTS 1 2",
		"GEORADIUS k1 0 0 1 km STORE k2",
		"XREAD COUNT 2 STREAMS k1 k2 0 0",
		"XREADGROUP GROUP g c STREAMS k1 >",
		"LMPOP 2 k1 k2 LEFT",
		"BLMPOP 0 2 k1 k2 LEFT",
		"SINTERCARD 2 k1 k2 LIMIT 1",
		"BITFIELD k1 GET u8 0",
		"SET k1 v GET",
		"OBJECT ENCODING k1",
		"XINFO STREAM k1",
		"MEMORY USAGE k1",
		"RENAME k1 k2",
		"BLMOVE k1 k2 LEFT RIGHT 0",
	} {
		t.Run(line, func(t *testing.T) {
			argv := args(line)
			keys, complete := LookupArgs(argv).AppendKeys(nil, argv)
			if !complete {
				t.Fatalf("keys not complete")
			}
			var got []string
			for _, k := range keys {
				got = append(got, string(argv[k]))
			}
			reply := call(t, srv.Addr, append([]string{"COMMAND", "GETKEYS"}, strings.Fields(line)...)...)
			var want []string
			for _, k := range reply.([]any) {
				want = append(want, k.(string))
			}
			if !slices.Equal(got, want) {
				t.Errorf("keys %v, server %v", got, want)
			}
		})
	}
}

// compare fails when got and want differ for a command not listed in
// known, or are equal for one that is (so stale entries get removed).
func compare(t *testing.T, name string, known map[string]string, got, want string) {
	t.Helper()
	why, listed := known[name]
	switch {
	case got != want && !listed:
		t.Errorf("%s:\n table  %s\n server %s", name, got, want)
	case got == want && listed:
		t.Errorf("%s: listed as a version change (%s) but matches", name, why)
	}
}

func serverFlags(t *testing.T, v any) Flags {
	var f Flags
	for _, n := range v.([]any) {
		x, ok := FlagByName(n.(string))
		if !ok {
			t.Errorf("server flag %q unknown to us", n)
		}
		f |= x
	}
	return f
}

func serverCategories(t *testing.T, v any) Categories {
	var c Categories
	for _, n := range v.([]any) {
		x, ok := CategoryByName(n.(string))
		if !ok {
			t.Errorf("server category %q unknown to us", n)
		}
		c |= x
	}
	return c
}

// call sends one command and reads one RESP2 reply as string, int64,
// []any or error. The resp package is not used so this test only depends
// on the table.
func call(t *testing.T, addr string, argv ...string) any {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(argv))
	for _, a := range argv {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	v, err := readReply(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := v.(error); ok {
		t.Fatalf("%v: %v", argv, e)
	}
	return v
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return fmt.Errorf("%s", line[1:]), nil
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}
