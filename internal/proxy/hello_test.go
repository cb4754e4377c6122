package proxy

import (
	"strings"
	"testing"
)

func TestParseHelloAsRedisServer(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		args    []string
		proto   int
		setname string
		bad     string // reply of parseHello
		stop    string // reply of walk (every AUTH accepted)
	}{
		{desc: "bare", args: []string{"HELLO"}},
		{desc: "proto 3", args: []string{"HELLO", "3"}, proto: 3},
		{desc: "auth and setname", args: []string{"hello", "2", "auth", "u", "p", "setname", "n"}, proto: 2, setname: "n"},
		{desc: "proto 4", args: []string{"HELLO", "4"}, bad: "-NOPROTO"},
		{desc: "proto 0", args: []string{"HELLO", "0"}, bad: "-NOPROTO"},
		{desc: "proto -3", args: []string{"HELLO", "-3"}, bad: "-NOPROTO"},
		{desc: "not a number", args: []string{"HELLO", "x"}, bad: "-ERR Protocol version is not an integer or out of range"},
		{desc: "leading zero", args: []string{"HELLO", "03"}, bad: "-ERR Protocol version is not an integer"},
		{desc: "plus sign", args: []string{"HELLO", "+3"}, bad: "-ERR Protocol version is not an integer"},
		{desc: "space", args: []string{"HELLO", " 3"}, bad: "-ERR Protocol version is not an integer"},
		{desc: "overflow", args: []string{"HELLO", "99999999999999999999"}, bad: "-ERR Protocol version is not an integer"},
		{desc: "int64 max is an integer", args: []string{"HELLO", "9223372036854775807"}, bad: "-NOPROTO"},
		{desc: "auth missing password", args: []string{"HELLO", "3", "AUTH", "u"}, proto: 3, stop: "-ERR Syntax error in HELLO option 'AUTH'\r\n"},
		{desc: "unknown option echoed on one line", args: []string{"HELLO", "3", "X\r\nY"}, proto: 3, stop: "-ERR Syntax error in HELLO option 'X  Y'\r\n"},
		{desc: "name with a space", args: []string{"HELLO", "3", "SETNAME", "a b"}, proto: 3, stop: string(replyBadClientName)},
		{desc: "name before a syntax error stays", args: []string{"HELLO", "3", "SETNAME", "ok", "FOO"}, proto: 3, setname: "ok", stop: "-ERR Syntax error in HELLO option 'FOO'\r\n"},
		{desc: "empty name clears", args: []string{"HELLO", "3", "SETNAME", ""}, proto: 3},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			args := make([][]byte, len(tc.args))
			for i, a := range tc.args {
				args[i] = []byte(a)
			}
			h, bad := parseHello(args)
			if tc.bad != "" {
				if !strings.HasPrefix(string(bad), tc.bad) {
					t.Fatalf("reply %q, want %q", bad, tc.bad)
				}
				return
			}
			if bad != nil {
				t.Fatalf("unexpected error reply %q", bad)
			}
			stop := h.walk(func(_, _ []byte) []byte { return nil })
			if string(stop) != tc.stop {
				t.Fatalf("walk = %q, want %q", stop, tc.stop)
			}
			if h.hello.Proto != tc.proto || string(h.hello.SetName) != tc.setname {
				t.Fatalf("got %+v", h)
			}
		})
	}
}

func TestHelloWalkStopsAtFailedAuth(t *testing.T) {
	args := [][]byte{[]byte("HELLO"), []byte("3"), []byte("SETNAME"), []byte("n1"), []byte("AUTH"), []byte("u"), []byte("bad"), []byte("SETNAME"), []byte("n2")}
	h, bad := parseHello(args)
	if bad != nil {
		t.Fatal(string(bad))
	}
	stop := h.walk(func(_, p []byte) []byte {
		if string(p) == "bad" {
			return replyWrongPass
		}
		return nil
	})
	if string(stop) != string(replyWrongPass) || string(h.hello.SetName) != "n1" {
		t.Fatalf("walk = %q, name %q; want WRONGPASS and the name set before it", stop, h.hello.SetName)
	}
}

func TestRedisInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"3", 3, true}, {"-1", -1, true}, {"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-0", 0, false}, {"03", 0, false}, {"+3", 0, false}, {"", 0, false},
		{"3 ", 0, false}, {"1e3", 0, false}, {"-", 0, false},
	} {
		got, ok := redisInt([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("redisInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
