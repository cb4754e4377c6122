package policy

import (
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

func argv(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

func TestCompile(t *testing.T) {
	tests := []struct {
		desc, role, rules string
		allowed, denied   []string // command lines
	}{
		{desc: "full allows admin", role: "full",
			allowed: []string{"GET k", "FLUSHALL", "CONFIG SET x y", "CLIENT KILL ID 1", "EVAL s 0"},
			denied:  []string{"NOSUCH x", "CLIENT NOSUCH"}},
		{desc: "readwrite-strict: data yes, admin and dangerous no", role: "readwrite-strict",
			allowed: []string{"GET k", "SET k v", "HSET h f v", "XADD s * f v", "MULTI", "SUBSCRIBE c", "SELECT 3", "CLIENT SETNAME n", "PING"},
			denied:  []string{"FLUSHALL", "FLUSHDB", "KEYS *", "CONFIG GET x", "CLIENT KILL ID 1", "CLIENT LIST", "INFO", "DEBUG SLEEP 0", "SHUTDOWN", "EVAL s 0", "SCRIPT FLUSH", "FUNCTION FLUSH", "MOVE k 1", "MEMORY USAGE k", "MONITOR"}},
		{desc: "readwrite: what applications send, no administration", role: "readwrite",
			allowed: []string{"GET k", "SET k v", "XADD s * f v", "MULTI", "SUBSCRIBE c", "CLIENT SETNAME n",
				"INFO", "INFO server", "CLIENT LIST", "FLUSHDB", "FLUSHALL", "KEYS *", "SORT l", "EVAL s 0", "EVALSHA s 0",
				"SCRIPT LOAD s", "SCRIPT EXISTS s", "FCALL f 0", "BZPOPMIN z 1", "WATCH k", "UNLINK k"},
			denied: []string{"CONFIG GET x", "CLIENT KILL ID 1", "CLIENT PAUSE 1", "DEBUG SLEEP 0", "SHUTDOWN", "MONITOR",
				"SLOWLOG GET", "ACL SETUSER x", "BGSAVE", "REPLICAOF no one", "LATENCY LATEST"}},
		{desc: "readonly: reads and connection", role: "readonly",
			allowed: []string{"GET k", "HGETALL h", "SCAN 0", "PING", "ECHO x", "HELLO 3", "AUTH p", "SELECT 3", "QUIT", "RESET", "CLIENT SETNAME n", "CLIENT GETNAME", "CLIENT ID", "CLIENT INFO", "MULTI", "EXEC", "COMMAND DOCS get"},
			denied:  []string{"SET k v", "DEL k", "EXPIRE k 1", "PUBLISH c m", "SUBSCRIBE c", "KEYS *", "FLUSHDB", "CLIENT LIST", "CLIENT NO-EVICT on", "EVAL_RO s 0", "XREADGROUP GROUP g c STREAMS s >"}},
		{desc: "rules after role", role: "readonly", rules: "+set -hgetall",
			allowed: []string{"SET k v", "GET k"},
			denied:  []string{"HGETALL h", "DEL k"}},
		{desc: "category then command", role: "", rules: "+@read -keys +set",
			allowed: []string{"GET k", "SET k v"},
			denied:  []string{"KEYS *", "DEL k", "PING"}},
		{desc: "subcommand rule", rules: "+client|list",
			allowed: []string{"CLIENT LIST"},
			denied:  []string{"CLIENT KILL ID 1", "CLIENT"}},
		{desc: "container rule covers subcommands", rules: "+client -client|kill",
			allowed: []string{"CLIENT LIST", "CLIENT ID", "CLIENT"},
			denied:  []string{"CLIENT KILL ID 1"}},
		{desc: "minus dangerous", role: "full", rules: "-@dangerous",
			allowed: []string{"GET k", "CLIENT ID"},
			denied:  []string{"FLUSHALL", "KEYS *", "CONFIG GET x", "CLIENT LIST"}},
		{desc: "allcommands nocommands order", rules: "allcommands nocommands +get",
			allowed: []string{"GET k"},
			denied:  []string{"SET k v"}},
		{desc: "+@all -@all", rules: "+@all -@all +@all",
			allowed: []string{"SHUTDOWN"}},
		{desc: "case-insensitive rules", rules: "+GET +@Read AllCommands -FLUSHALL",
			allowed: []string{"GET k", "SET k v"},
			denied:  []string{"FLUSHALL"}},
		{desc: "empty role and rules allows only login and logout", role: "", rules: "nocommands -auth",
			allowed: []string{"AUTH p", "HELLO 3", "QUIT", "RESET"},
			denied:  []string{"GET k", "PING", "ECHO x"}},
		{desc: "7.4 hash field expiry is data", role: "readwrite",
			allowed: []string{"HEXPIRE h 10 FIELDS 1 f", "WAITAOF 0 0 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p, err := Compile(tc.role, tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range tc.allowed {
				if !p.Allowed(command.LookupArgs(argv(line))) {
					t.Errorf("%q denied, want allowed", line)
				}
			}
			for _, line := range tc.denied {
				if p.Allowed(command.LookupArgs(argv(line))) {
					t.Errorf("%q allowed, want denied", line)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		desc, role, rules string
		want              []string // substrings of the error
	}{
		{desc: "unknown role", role: "admin", want: []string{`unknown role (want`}},
		{desc: "unknown command", role: "full", rules: "+nosuch", want: []string{`rule 1: unknown command`}},
		{desc: "unknown category", rules: "+@nosuch", want: []string{`rule 1: unknown category`}},
		{desc: "empty category", rules: "-@", want: []string{`rule 1: unknown category`}},
		{desc: "bare sign", rules: "+", want: []string{`rule 1: unknown command`}},
		{desc: "unknown subcommand", rules: "+client|nosuch", want: []string{`rule 1: unknown command`}},
		{desc: "first-arg rule", rules: "+select|0", want: []string{`has no subcommands`}},
		{desc: "key pattern", rules: "~*", want: []string{"not a command rule"}},
		{desc: "channel pattern", rules: "&*", want: []string{"not a command rule"}},
		{desc: "password", rules: ">secret", want: []string{"not a command rule"}},
		{desc: "user flag", rules: "on", want: []string{"not a command rule"}},
		{desc: "every error reported", rules: "+get +nope1 -@nope2 allkeys",
			want: []string{`rule 2: unknown command`, `rule 3: unknown category`, `rule 4: not a command rule`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p, err := Compile(tc.role, tc.rules)
			if err == nil {
				t.Fatalf("Compile(%q, %q) = %v, want an error", tc.role, tc.rules, p)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestRoleProperties checks the roles against every command in the table.
func TestRoleProperties(t *testing.T) {
	rw, ro, full := MustCompile(RoleReadWriteStrict, ""), MustCompile(RoleReadOnly, ""), MustCompile(RoleFull, "")
	apps := MustCompile(RoleReadWrite, "")
	var nrw, nro, napps int
	for id := command.ID(1); id <= command.MaxID; id++ {
		c := command.ByID(id)
		if !full.Allowed(c) {
			t.Errorf("full denies %s", c.Name)
		}
		for _, r := range []struct {
			name string
			p    *Policy
		}{{"readwrite-strict", rw}, {"readonly", ro}} {
			if r.p.Allowed(c) && c.Categories&(command.CatAdmin|command.CatDangerous) != 0 {
				t.Errorf("%s allows %s %v", r.name, c.Name, c.Categories)
			}
			if r.p.Allowed(c) && alwaysDenied(c) {
				t.Errorf("%s allows %s, which isolation always refuses", r.name, c.Name)
			}
		}
		if ro.Allowed(c) && (c.Categories.Has(command.CatWrite) || c.Flags.Has(command.FlagWrite)) {
			t.Errorf("readonly allows %s, which writes", c.Name)
		}
		if ro.Allowed(c) && !rw.Allowed(c) {
			t.Errorf("readonly allows %s but readwrite does not", c.Name)
		}
		if rw.Allowed(c) {
			nrw++
		}
		if apps.Allowed(c) {
			napps++
			if c.Categories.Has(command.CatAdmin) && c.Name != "client|list" {
				t.Errorf("readwrite allows %s %v", c.Name, c.Categories)
			}
		}
		if rw.Allowed(c) && !apps.Allowed(c) {
			t.Errorf("readwrite-strict allows %s but readwrite does not", c.Name)
		}
		if ro.Allowed(c) {
			nro++
		}
	}
	if nro < 80 || nrw < 2*nro {
		t.Errorf("roles look empty: readonly %d, readwrite %d commands", nro, nrw)
	}
	t.Logf("readwrite allows %d, readwrite-strict %d, readonly %d of %d commands", napps, nrw, nro, int(command.MaxID))
	if full.Allowed(nil) || rw.Allowed(nil) {
		t.Error("an unknown command is allowed")
	}
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	p := MustCompile(RoleReadWrite, "")
	for _, line := range []string{"GET k", "SET k v", "CLIENT SETNAME x"} {
		a := argv(line)
		if n := testing.AllocsPerRun(100, func() { p.Allowed(command.LookupArgs(a)) }); n != 0 {
			t.Errorf("%s: %v allocs, want 0", line, n)
		}
	}
}

func BenchmarkAllowed(b *testing.B) {
	p := MustCompile(RoleReadWrite, "")
	for _, line := range []string{"GET key", "SET key value"} {
		a := argv(line)
		b.Run(strings.Fields(line)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !p.Allowed(command.LookupArgs(a)) {
					b.Fatal("denied")
				}
			}
		})
	}
}
