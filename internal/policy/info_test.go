package policy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

func TestSanitizeInfo(t *testing.T) {
	in := "# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1 x86_64\r\nexecutable:/usr/bin/redis-server\r\nconfig_file:/etc/redis.conf\r\n\r\n" +
		"# Clients\r\nconnected_clients:42\r\nmaxclients:10000\r\n\r\n" +
		"# Memory\r\nused_memory:123\r\nused_memory_human:1M\r\nmaxmemory_policy:noeviction\r\n\r\n" +
		"# Persistence\r\nloading:0\r\naof_enabled:0\r\naof_rewrites:3\r\n\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=9\r\n\r\n" +
		"# Futurestats\r\nnew_field:1\r\n\r\n" +
		"# Keyspace\r\ndb0:keys=1\r\ndb3:keys=2\r\ndb30:keys=3\r\ndb4:keys=4\r\n"
	want := "# Server\r\nredis_version:7.0.15\r\n\r\n" +
		"# Clients\r\nmaxclients:10000\r\n\r\n" +
		"# Memory\r\nmaxmemory_policy:noeviction\r\n\r\n" +
		"# Persistence\r\nloading:0\r\naof_enabled:0\r\n\r\n" +
		"# Commandstats\r\n\r\n" +
		"# Futurestats\r\n\r\n" +
		"# Keyspace\r\ndb3:keys=2\r\n"
	if got := string(SanitizeInfo([]byte(in), 3)); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if got := string(SanitizeInfo([]byte("no colon line\r\nredis_mode:standalone"), 0)); got != "redis_mode:standalone" {
		t.Errorf("unterminated last line / junk: %q", got)
	}
}

// TestInfoFieldsMatchServer asks a real redis-server for every INFO field
// it has, with keys in two DBs, replicas and scripts in use, and checks the
// table names each one, and that the sanitized reply keeps only the pinned
// DB and what the table keeps.
func TestInfoFieldsMatchServer(t *testing.T) {
	srv := redistest.Start(t, "--repl-diskless-sync-delay", "0")
	replica := redistest.Start(t, "--replicaof", "127.0.0.1", strings.TrimPrefix(srv.Addr, "127.0.0.1:"))
	conn := dial(t, srv.Addr)
	for _, argv := range [][]string{
		{"SELECT", "3"}, {"SET", "mine", "1"}, {"SELECT", "4"}, {"SET", "theirs", "1"},
		{"EVAL", "return 1", "0"}, {"GET", "nosuch", "x"},
	} {
		send(t, conn, argv...)
	}
	var info string
	for _, addr := range []string{srv.Addr, replica.Addr} {
		c := dial(t, addr)
		waitReplicated := 0
		for {
			info = sendBulk(t, c, "INFO", "everything")
			if addr == srv.Addr || strings.Contains(info, "master_link_status:up") || waitReplicated > 100 {
				break
			}
			waitReplicated++
			time.Sleep(50 * time.Millisecond)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			name, _, _ := strings.Cut(line, ":")
			if !infoListed(name) {
				t.Errorf("%s: INFO field %q is not in the table (it is dropped by default; decide and list it)", addr, name)
			}
		}
	}
	c := dial(t, srv.Addr)
	info = sendBulk(t, c, "INFO", "everything")
	if !strings.Contains(info, "slave0:") {
		t.Error("the replica never showed up in the master's INFO (slave0)")
	}
	got := string(SanitizeInfo([]byte(info), 3))
	for _, want := range []string{"redis_version:", "redis_mode:", "loading:0", "role:master", "maxmemory_policy:", "db3:keys=1", "# Keyspace", "# Commandstats"} {
		if !strings.Contains(got, want) {
			t.Errorf("sanitized INFO lacks %q", want)
		}
	}
	for _, leak := range []string{"db4:", "connected_clients:", "used_memory:", "executable:", "config_file:", "cmdstat_", "slave0:", "tcp_port:", "process_id:", "total_commands_processed:"} {
		if strings.Contains(got, leak) {
			t.Errorf("sanitized INFO shows %q", leak)
		}
	}
}

// TestInfoTableDocumented keeps docs/policy.md's INFO table in step.
func TestInfoTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range infoFields {
		row := "| `" + f.name
		if f.prefix {
			row += "*"
		}
		row += "` | " + treatName(f.treat) + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/policy.md lacks the row %q", row)
		}
	}
	if os.Getenv("PRINT_INFO_TABLE") != "" {
		for _, f := range infoFields {
			n := f.name
			if f.prefix {
				n += "*"
			}
			t.Logf("| %s | `%s` | %s | %s |", f.section, n, treatName(f.treat), f.why)
		}
	}
}

func treatName(t infoTreatment) string {
	return [...]string{"drop", "keep", "own DB only"}[t]
}

// sendBulk writes one command and returns its bulk-string reply.
func sendBulk(t *testing.T, rw *bufio.ReadWriter, argv ...string) string {
	t.Helper()
	fmt.Fprintf(rw, "*%d\r\n", len(argv))
	for _, a := range argv {
		fmt.Fprintf(rw, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	line, err := rw.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "$") {
		t.Fatalf("reply %q, %v", line, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(rw, b); err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}
