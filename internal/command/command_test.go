package command

import (
	"strings"
	"testing"
)

func args(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

func TestLookup(t *testing.T) {
	tests := []struct {
		desc, name, want string // want "" means nil
	}{
		{desc: "lowercase", name: "get", want: "get"},
		{desc: "uppercase", name: "GET", want: "get"},
		{desc: "mixed case", name: "FlUsHaLl", want: "flushall"},
		{desc: "container", name: "client", want: "client"},
		{desc: "7.2 command", name: "WAITAOF", want: "waitaof"},
		{desc: "7.4 command", name: "hexpire", want: "hexpire"},
		{desc: "unknown", name: "foo", want: ""},
		{desc: "empty", name: "", want: ""},
		{desc: "full subcommand name is not argv[0]", name: "client|kill", want: ""},
		{desc: "prefix of a command", name: "ge", want: ""},
		{desc: "too long for the buffer", name: strings.Repeat("a", 200), want: ""},
		{desc: "non-ASCII", name: "gét", want: ""},
		{desc: "sentinel-only commands are not registered", name: "sentinel", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := Lookup([]byte(tc.name))
			if got := nameOf(c); got != tc.want {
				t.Errorf("Lookup(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}

func TestLookupArgs(t *testing.T) {
	tests := []struct {
		desc, args, want string
	}{
		{desc: "plain command", args: "SET k v", want: "set"},
		{desc: "subcommand", args: "CLIENT LIST", want: "client|list"},
		{desc: "subcommand mixed case", args: "config GeT maxmemory", want: "config|get"},
		{desc: "dash in subcommand", args: "client no-evict on", want: "client|no-evict"},
		{desc: "container alone", args: "CLIENT", want: "client"},
		{desc: "unknown subcommand", args: "CLIENT FOO", want: ""},
		{desc: "pipe in subcommand", args: "CLIENT list|x", want: ""},
		{desc: "subcommand needs a container", args: "GET list", want: "get"},
		{desc: "no args", args: "", want: ""},
		{desc: "unknown command", args: "NOPE x", want: ""},
		{desc: "long subcommand", args: "CLIENT " + strings.Repeat("x", 100), want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := nameOf(LookupArgs(args(tc.args))); got != tc.want {
				t.Errorf("LookupArgs(%q) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

func nameOf(c *Command) string {
	if c == nil {
		return ""
	}
	return c.Name
}

func TestLookupDoesNotAllocate(t *testing.T) {
	for _, a := range []string{"GET k", "set k v", "CLIENT LIST", "client no-evict on", "nope"} {
		argv := args(a)
		if n := testing.AllocsPerRun(100, func() { LookupArgs(argv) }); n != 0 {
			t.Errorf("LookupArgs(%q): %v allocs, want 0", a, n)
		}
	}
}

// TestTableConsistent checks invariants every entry must hold, so a bad
// regeneration is caught here rather than in the proxy.
func TestTableConsistent(t *testing.T) {
	if Count() < 370 {
		t.Fatalf("Count() = %d, want the full 7.x table", Count())
	}
	if int(MaxID) != Count() {
		t.Fatalf("MaxID %d != Count() %d", MaxID, Count())
	}
	for id := ID(1); id <= MaxID; id++ {
		c := ByID(id)
		if c.ID != id {
			t.Errorf("%s: ID %d at index %d", c.Name, c.ID, id)
		}
		if ByName(c.Name) != c {
			t.Errorf("%s: ByName does not find it", c.Name)
		}
		if c.Name != strings.ToLower(c.Name) {
			t.Errorf("%s: name not lowercase", c.Name)
		}
		if c.Arity == 0 {
			t.Errorf("%s: arity 0", c.Name)
		}
		if c.Categories.Has(CatFast) == c.Categories.Has(CatSlow) {
			t.Errorf("%s: must be exactly one of @fast and @slow", c.Name)
		}
		if p := c.Parent(); p != nil {
			if !strings.HasPrefix(c.Name, p.Name+"|") {
				t.Errorf("%s: container %s", c.Name, p.Name)
			}
			if LookupArgs(args(strings.Replace(c.Name, "|", " ", 1))) != c {
				t.Errorf("%s: LookupArgs does not resolve it", c.Name)
			}
		} else if strings.Contains(c.Name, "|") {
			t.Errorf("%s: subcommand without container", c.Name)
		}
		for _, s := range c.Subcommands {
			if ByID(s).Container != id {
				t.Errorf("%s: subcommand %d points elsewhere", c.Name, s)
			}
		}
	}
	for _, id := range []ID{0, MaxID + 1} {
		if ByID(id) != nil {
			t.Errorf("ByID(%d) not nil", id)
		}
	}
}

func TestCategoryByName(t *testing.T) {
	tests := []struct {
		desc, name string
		want       Categories
		ok         bool
	}{
		{desc: "read", name: "read", want: CatRead, ok: true},
		{desc: "with @", name: "@dangerous", want: CatDangerous, ok: true},
		{desc: "case", name: "KeySpace", want: CatKeyspace, ok: true},
		{desc: "all", name: "all", want: CatAll, ok: true},
		{desc: "last", name: "scripting", want: CatScripting, ok: true},
		{desc: "unknown", name: "nope", ok: false},
		{desc: "empty", name: "", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := CategoryByName(tc.name)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CategoryByName(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
			}
		})
	}
	if n := len(CategoryNames()); CatAll != 1<<n-1 {
		t.Errorf("CatAll %b does not cover %d names", CatAll, n)
	}
}

func TestFlagNames(t *testing.T) {
	if len(flagNames) != 25 || FlagTouchesArbitraryKeys != 1<<24 {
		t.Fatalf("flag names and constants out of step")
	}
	for i, n := range flagNames {
		if f, ok := FlagByName(strings.ToUpper(n)); !ok || f != 1<<i {
			t.Errorf("FlagByName(%q) = %v, %v", n, f, ok)
		}
	}
	if got := (FlagWrite | FlagFast).String(); got != "write,fast" {
		t.Errorf("String() = %q", got)
	}
}

func BenchmarkLookupArgs(b *testing.B) {
	for _, line := range []string{"GET key", "CLIENT LIST"} {
		argv := args(line)
		b.Run(strings.Fields(line)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if LookupArgs(argv) == nil {
					b.Fatal("not found")
				}
			}
		})
	}
}
