package policy

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// TestMessagesMatchServer checks that our refusals read exactly as a real
// redis-server's for the same input.
func TestMessagesMatchServer(t *testing.T) {
	srv := redistest.Start(t)
	conn := dial(t, srv.Addr)
	send(t, conn, "ACL", "SETUSER", "u", "on", "nopass", "~*", "+@all", "-flushall", "-client|kill")
	send(t, conn, "AUTH", "u", "x")
	long := strings.Repeat("y", 150)
	for _, argv := range [][]string{
		{"nosuch"},
		{"nosuch", "a", "b"},
		{"nosuch", long, "b"},
		{"nosuch", "a\r\nb"},
		{"CLIENT", "nosuch"},
		{"FLUSHALL"},
		{"CLIENT", "KILL", "ID", "1"},
	} {
		t.Run(strings.Join(argv, " ")[:min(20, len(strings.Join(argv, " ")))], func(t *testing.T) {
			a := make([][]byte, len(argv))
			for i := range argv {
				a[i] = []byte(argv[i])
			}
			c := command.LookupArgs(a)
			want := send(t, conn, argv...)
			got := "-" + UnknownMessage(a)
			if c != nil {
				got = "-" + DenyMessage(c, a[0])
			}
			if got != want {
				t.Errorf("ours   %q\nserver %q", got, want)
			}
		})
	}
}

func dial(t *testing.T, addr string) *bufio.ReadWriter {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
}

// send writes one command and returns its reply: the line of a simple
// reply, or the text of a bulk one (ACL DRYRUN explains denials in bulk).
func send(t *testing.T, rw *bufio.ReadWriter, argv ...string) string {
	t.Helper()
	fmt.Fprintf(rw, "*%d\r\n", len(argv))
	for _, a := range argv {
		fmt.Fprintf(rw, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	line, err := rw.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if strings.HasPrefix(line, "$") {
		if line, err = rw.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSuffix(line, "\r\n")
	}
	return line
}

// TestRulesMatchServer compiles ACL rules here and in a real redis-server
// and asks the server (ACL DRYRUN) about every command it knows.
func TestRulesMatchServer(t *testing.T) {
	srv := redistest.Start(t)
	conn := dial(t, srv.Addr)
	for i, rules := range []string{
		"+@read -keys +set +client|list -@dangerous",
		"allcommands -@slow +client|id",
		"+@all -@admin -client +client|setname",
		"+@connection -command|docs +@transaction",
		"+@write +@keyspace -@scripting nocommands +@hash",
	} {
		t.Run(rules, func(t *testing.T) {
			user := fmt.Sprintf("u%d", i)
			setuser := append([]string{"ACL", "SETUSER", user, "reset", "on", "nopass", "~*", "&*"}, strings.Fields(rules)...)
			if r := send(t, conn, setuser...); r != "+OK" {
				t.Fatalf("ACL SETUSER: %s", r)
			}
			p := MustCompile("", rules)
			checked := 0
			for id := command.ID(1); id <= command.MaxID; id++ {
				c := command.ByID(id)
				if len(c.Subcommands) > 0 || c.Name == "wait" { // containers need a subcommand; WAIT's categories changed in 7.2
					continue
				}
				argv := append([]string{"ACL", "DRYRUN", user}, strings.Split(c.Name, "|")...)
				for len(argv)-3 < max(c.Arity, -c.Arity) {
					argv = append(argv, "1")
				}
				r := send(t, conn, argv...)
				if strings.Contains(r, "not found") || strings.Contains(r, "wrong number") {
					continue // newer than the server, or arity changed since 7.0
				}
				checked++
				if got, want := p.Allowed(c), r == "+OK"; got != want {
					t.Errorf("%s: ours %v, server %q", c.Name, got, r)
				}
			}
			if checked < 300 {
				t.Errorf("only %d commands checked", checked)
			}
		})
	}
}
