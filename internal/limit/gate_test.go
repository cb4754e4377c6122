package limit

import (
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/command"
)

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

// check runs one command through a gate, as the relay does.
func check(g *Gate, a ...string) Verdict {
	argv := args(a...)
	size := 0
	for _, x := range argv {
		size += len(x) + 8
	}
	return g.Check(command.LookupArgs(argv), argv, size)
}

func TestSizeLimits(t *testing.T) {
	lim := Limits{RequestBytes: 1000, ValueBytes: 100, Offset: 4096}
	big := strings.Repeat("x", 101)
	tests := []struct {
		desc   string
		args   []string
		reason int // -1: allowed
	}{
		{"small set", []string{"SET", "k", "v"}, -1},
		{"value over max_value_bytes", []string{"SET", "k", big}, ReasonValueBytes},
		{"key over max_value_bytes in a write", []string{"RPUSH", big, "v"}, ReasonValueBytes},
		{"a read of a long key is no value", []string{"GET", big}, -1},
		{"delete is not denyoom", []string{"DEL", big}, -1},
		{"request over max_request_bytes", append([]string{"RPUSH", "l"}, strings.Split(strings.Repeat("a ", 200), " ")...), ReasonRequestBytes},
		{"setrange within", []string{"SETRANGE", "k", "4000", "abc"}, -1},
		{"setrange reach just over", []string{"SETRANGE", "k", "4094", "abc"}, ReasonOffset},
		{"setrange huge", []string{"SETRANGE", "k", "536870000", "x"}, ReasonOffset},
		{"setrange empty value never grows", []string{"SETRANGE", "k", "536870000", ""}, -1},
		{"setrange malformed offset left to redis", []string{"SETRANGE", "k", "-1", "x"}, -1},
		{"setbit within", []string{"SETBIT", "k", "32767", "1"}, -1},
		{"setbit over", []string{"SETBIT", "k", "32768", "1"}, ReasonOffset},
		{"bitfield get does not allocate", []string{"BITFIELD", "k", "GET", "u8", "999999999"}, -1},
		{"bitfield set over", []string{"BITFIELD", "k", "SET", "u8", "40000", "1"}, ReasonOffset},
		{"bitfield set #n counts widths", []string{"BITFIELD", "k", "set", "i64", "#600", "1"}, ReasonOffset},
		{"bitfield incrby within", []string{"BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u16", "#10", "1"}, -1},
		{"unknown command: only its size counts", []string{"NOSUCH", big}, -1},
	}
	s := NewSet(Options{})
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			g := s.Gate("t", lim)
			before := g.Tenant().Stats().Refused
			v := check(g, tc.args...)
			after := g.Tenant().Stats().Refused
			if tc.reason < 0 {
				if v.Refuse != nil || v.Wait != 0 {
					t.Fatalf("refused: %q wait %v", v.Refuse, v.Wait)
				}
				return
			}
			if v.Refuse == nil || !strings.HasPrefix(string(v.Refuse), "-ERR redoubt: ") || !strings.HasSuffix(string(v.Refuse), "\r\n") {
				t.Fatalf("want a refusal, got %q", v.Refuse)
			}
			if after[tc.reason] != before[tc.reason]+1 {
				t.Fatalf("refused[%s] %d -> %d", ReasonNames[tc.reason], before[tc.reason], after[tc.reason])
			}
		})
	}
}

func TestUnlimitedPassesEverything(t *testing.T) {
	g := NewSet(Options{}).Gate("t", Limits{})
	for range 10000 {
		if v := check(g, "SETRANGE", "k", "536870000", "x"); v.Refuse != nil || v.Wait != 0 {
			t.Fatalf("unlimited tenant refused: %q %v", v.Refuse, v.Wait)
		}
	}
}

// fakeClock lets rate tests move time by hand.
func fakeClock(s *Set) *int64 {
	now := int64(time.Hour)
	s.clock = func() int64 { return now }
	return &now
}

func TestOpsRate(t *testing.T) {
	s := NewSet(Options{MaxDelay: 50 * time.Millisecond, Burst: 10 * time.Millisecond})
	now := fakeClock(s)
	// 1000 ops/s: 1 ms each, 10 ms of burst.
	a, b := s.Gate("t", Limits{OpsPerSecond: 1000}), s.Gate("t", Limits{OpsPerSecond: 1000})
	free := 0
	for check(a, "GET", "k").Wait == 0 {
		free++
		if free > 100 {
			t.Fatal("no limit")
		}
	}
	if free < 10 || free > 12 {
		t.Fatalf("%d commands went without waiting; want the burst, about 10", free)
	}
	// a was told to wait and is paid: asking again for the same command passes.
	if v := check(a, "GET", "k"); v.Wait != 0 || v.Refuse != nil {
		t.Fatalf("paid command: %+v", v)
	}
	// The other session of the same tenant shares the bucket.
	var waited bool
	for range 100 {
		v := check(b, "GET", "k")
		if v.Refuse != nil {
			if !strings.Contains(string(v.Refuse), "rate limit") {
				t.Fatalf("refusal %q", v.Refuse)
			}
			break
		}
		if v.Wait > 50*time.Millisecond {
			t.Fatalf("wait %v over the bound", v.Wait)
		}
		waited = waited || v.Wait > 0
		check(b, "GET", "k") // the paid retry
	}
	if !waited {
		t.Fatal("never waited before refusing")
	}
	st := a.Tenant().Stats()
	if st.Refused[ReasonRate] != 1 || st.Throttled == 0 || st.Delayed == 0 {
		t.Fatalf("stats %+v", st)
	}
	// Refusals charge nothing: once the clock passes the debt, it admits.
	*now += int64(100 * time.Millisecond)
	if v := check(b, "GET", "k"); v.Wait != 0 || v.Refuse != nil {
		t.Fatalf("after the debt is paid: %+v", v)
	}
	// Another tenant has its own bucket.
	if v := check(s.Gate("u", Limits{OpsPerSecond: 1000}), "GET", "k"); v.Wait != 0 || v.Refuse != nil {
		t.Fatalf("other tenant: %+v", v)
	}
}

func TestBytesRateInAndOut(t *testing.T) {
	s := NewSet(Options{MaxDelay: time.Second, Burst: 10 * time.Millisecond})
	now := fakeClock(s)
	g := s.Gate("t", Limits{BytesPerSecond: 1000})
	// An idle bucket admits one command of any size; its cost delays the next.
	if v := g.Check(nil, args("X"), 500); v.Wait != 0 {
		t.Fatalf("first: %+v", v)
	}
	v := g.Check(nil, args("X"), 100)
	if v.Wait < 550*time.Millisecond || v.Wait > 650*time.Millisecond {
		t.Fatalf("second waits %v, want about 0.6s", v.Wait)
	}
	if v := g.Check(nil, args("X"), 100); v.Wait != 0 {
		t.Fatalf("the retry after the wait: %+v", v)
	}
	*now += int64(2 * time.Second)
	// Reply bytes are charged after the fact: the next command waits for them.
	g.Sent(800)
	v = g.Check(nil, args("X"), 1)
	if v.Wait < 700*time.Millisecond {
		t.Fatalf("after 800 reply bytes the next command waits %v", v.Wait)
	}
	g.Check(nil, args("X"), 1) // the retry
	g.Sent(5000)
	if v := g.Check(nil, args("X"), 1); v.Refuse == nil {
		t.Fatalf("5 s of reply debt with a 1 s bound: %+v", v)
	}
}

func TestReloadChangesLimits(t *testing.T) {
	s := NewSet(Options{})
	g := s.Gate("t", Limits{ValueBytes: 10})
	if check(g, "SET", "k", "01234567890").Refuse == nil {
		t.Fatal("not refused before the reload")
	}
	s.Sync(func(string) (Limits, bool) { return Limits{}, true })
	if v := check(g, "SET", "k", "01234567890"); v.Refuse != nil {
		t.Fatalf("refused after the limit was lifted: %q", v.Refuse)
	}
	s.Sync(func(string) (Limits, bool) { return Limits{}, false })
	if len(s.Tenants()) != 0 {
		t.Fatal("removed tenant kept")
	}
}

func TestQuotaRefusesOnlyWrites(t *testing.T) {
	s := NewSet(Options{})
	g := s.Gate("t", Limits{Keys: 3})
	g.Tenant().recordQuota(3, -1, time.Now())
	for _, c := range [][]string{{"GET", "k"}, {"DEL", "k"}, {"UNLINK", "k"}, {"SCAN", "0"}} {
		if v := check(g, c...); v.Refuse != nil {
			t.Fatalf("%v refused over quota: %q", c, v.Refuse)
		}
	}
	v := check(g, "SET", "k", "v")
	if !strings.HasPrefix(string(v.Refuse), "-OOM ") || !strings.Contains(string(v.Refuse), "max_keys quota (3 of 3 keys)") {
		t.Fatalf("SET over quota: %q", v.Refuse)
	}
	g.Tenant().recordQuota(2, -1, time.Now())
	if v := check(g, "SET", "k", "v"); v.Refuse != nil {
		t.Fatalf("SET under quota: %q", v.Refuse)
	}
	g = s.Gate("m", Limits{MemoryBytes: 1000})
	g.Tenant().recordQuota(5, 1000, time.Now())
	if v := check(g, "HSET", "h", "f", "v"); !strings.Contains(string(v.Refuse), "max_memory_bytes") {
		t.Fatalf("HSET over memory quota: %q", v.Refuse)
	}
}

func TestKeyspaceCounts(t *testing.T) {
	got := keyspaceCounts([]byte("# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\ndb12:keys=1100000,expires=3,avg_ttl=9\r\nbad\r\ndbx:keys=1\r\n"))
	if len(got) != 2 || got[0] != 5 || got[12] != 1100000 {
		t.Fatalf("got %v", got)
	}
}
