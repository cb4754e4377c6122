package token

import (
	"strings"
	"testing"
)

func TestParseAllowListRejects(t *testing.T) {
	tests := []struct {
		desc    string
		pattern string
	}{
		{desc: "no port", pattern: "redis.internal"},
		{desc: "empty port", pattern: "redis.internal:"},
		{desc: "port zero", pattern: "redis.internal:0"},
		{desc: "port leading zero", pattern: "redis.internal:06379"},
		{desc: "port too big", pattern: "redis.internal:65536"},
		{desc: "port range", pattern: "redis.internal:6379-6380"},
		{desc: "empty host", pattern: ":6379"},
		{desc: "trailing dot", pattern: "*.cache.amazonaws.com.:6379"},
		{desc: "empty label", pattern: "a..b:6379"},
		{desc: "userinfo", pattern: "u@redis:6379"},
		{desc: "fragment", pattern: "redis#x:6379"},
		{desc: "slash in name", pattern: "redis/x:6379"},
		{desc: "bad glob", pattern: "redis[:6379"},
		{desc: "backslash escape", pattern: `redis\*:6379`},
		{desc: "ip glob", pattern: "10.0.*:6379"},
		{desc: "unbracketed ipv6", pattern: "fd00::1:6379"},
		{desc: "unbracketed ipv6 cidr", pattern: "fd00::/8:6379"},
		{desc: "bracketed ipv4", pattern: "[10.0.0.1]:6379"},
		{desc: "bracketed name", pattern: "[redis]:6379"},
		{desc: "zone", pattern: "[fe80::1%eth0]:6379"},
		{desc: "host bits set", pattern: "10.1.2.3/8:6379"},
		{desc: "bad prefix length", pattern: "10.0.0.0/33:6379"},
		{desc: "mapped address", pattern: "[::ffff:10.0.0.1]:6379"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			a, err := ParseAllowList([]string{"ok.example:6379", tt.pattern})
			if err == nil || a != nil {
				t.Fatalf("ParseAllowList accepted %q", tt.pattern)
			}
			if !strings.Contains(err.Error(), "allow_upstreams[1]") {
				t.Errorf("error %q does not name the entry", err)
			}
		})
	}
}

func TestParseAllowListReportsAll(t *testing.T) {
	_, err := ParseAllowList([]string{"a", "b:1", "c", "d:x"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"allow_upstreams[0]", "allow_upstreams[2]", "allow_upstreams[3]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q misses %s", err, want)
		}
	}
}

func TestAllows(t *testing.T) {
	a, err := ParseAllowList([]string{
		"*.cache.amazonaws.com:6379",
		"redis-?.internal:*",
		"127.0.0.1:*",
		"10.0.0.0/8:6380",
		"[fd00::/8]:6379",
		"[::1]:6379",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		hostport string
		want     bool
	}{
		{desc: "glob match", hostport: "my.cache.amazonaws.com:6379", want: true},
		{desc: "glob spans labels (path.Match)", hostport: "a.b.cache.amazonaws.com:6379", want: true},
		{desc: "glob case-insensitive", hostport: "My.Cache.AmazonAWS.com:6379", want: true},
		{desc: "glob wrong port", hostport: "my.cache.amazonaws.com:6380", want: false},
		{desc: "glob bare suffix", hostport: "cache.amazonaws.com:6379", want: false},
		{desc: "glob empty first label", hostport: ".cache.amazonaws.com:6379", want: false},
		{desc: "fragment trick", hostport: "evil.com#.cache.amazonaws.com:6379", want: false},
		{desc: "path trick", hostport: "evil.com/.cache.amazonaws.com:6379", want: false},
		{desc: "query trick", hostport: "evil.com?.cache.amazonaws.com:6379", want: false},
		{desc: "userinfo trick", hostport: "x.cache.amazonaws.com@evil.com:6379", want: false},
		{desc: "userinfo before", hostport: "evil.com@x.cache.amazonaws.com:6379", want: false},
		{desc: "percent escape", hostport: "evil.com%2f.cache.amazonaws.com:6379", want: false},
		{desc: "trailing dot", hostport: "my.cache.amazonaws.com.:6379", want: false},
		{desc: "suffix appended", hostport: "my.cache.amazonaws.com.evil.com:6379", want: false},
		{desc: "extra colon", hostport: "my.cache.amazonaws.com:1:6379", want: false},
		{desc: "space", hostport: "my.cache.amazonaws.com :6379", want: false},
		{desc: "nul byte", hostport: "evil.com\x00.cache.amazonaws.com:6379", want: false},
		{desc: "no port", hostport: "my.cache.amazonaws.com", want: false},
		{desc: "port leading zero", hostport: "my.cache.amazonaws.com:06379", want: false},
		{desc: "port sign", hostport: "my.cache.amazonaws.com:+6379", want: false},
		{desc: "question mark glob", hostport: "redis-a.internal:7000", want: true},
		{desc: "question mark is one byte", hostport: "redis-ab.internal:7000", want: false},
		{desc: "ip exact any port", hostport: "127.0.0.1:6379", want: true},
		{desc: "ip other", hostport: "127.0.0.2:6379", want: false},
		{desc: "localhost is a name, not 127.0.0.1", hostport: "localhost:6379", want: false},
		{desc: "inet_aton short form", hostport: "127.1:6379", want: false},
		{desc: "inet_aton hex form", hostport: "0x7f.0.0.1:6379", want: false},
		{desc: "inet_aton integer", hostport: "2130706433:6379", want: false},
		{desc: "leading zero octet", hostport: "127.0.0.01:6379", want: false},
		{desc: "cidr", hostport: "10.20.30.40:6380", want: true},
		{desc: "cidr wrong port", hostport: "10.20.30.40:6379", want: false},
		{desc: "ipv4-mapped ipv6 in v4 cidr", hostport: "[::ffff:10.20.30.40]:6380", want: true},
		{desc: "ipv4-mapped ipv6 loopback", hostport: "[::ffff:127.0.0.1]:1", want: true},
		{desc: "ipv6 cidr", hostport: "[fd00::1234]:6379", want: true},
		{desc: "ipv6 literal", hostport: "[::1]:6379", want: true},
		{desc: "ipv6 outside", hostport: "[fe80::1]:6379", want: false},
		{desc: "ipv6 unbracketed", hostport: "::1:6379", want: false},
		{desc: "ipv6 zone", hostport: "[fd00::1%eth0]:6379", want: false},
		{desc: "bracketed ipv4", hostport: "[127.0.0.1]:6379", want: false},
		{desc: "bracketed name", hostport: "[my.cache.amazonaws.com]:6379", want: false},
		{desc: "empty", hostport: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := a.Allows(tt.hostport); got != tt.want {
				t.Errorf("Allows(%q) = %v, want %v", tt.hostport, got, tt.want)
			}
		})
	}
}

func TestAllowsIPNeverMatchesGlob(t *testing.T) {
	a, err := ParseAllowList([]string{"*:6379"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		hostport string
		want     bool
	}{
		{desc: "any name", hostport: "anything.example:6379", want: true},
		{desc: "ipv4", hostport: "169.254.169.254:6379", want: false},
		{desc: "ipv6", hostport: "[::1]:6379", want: false},
		{desc: "numeric name", hostport: "127.1:6379", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := a.Allows(tt.hostport); got != tt.want {
				t.Errorf("Allows(%q) = %v, want %v", tt.hostport, got, tt.want)
			}
		})
	}
}

func TestAllowsDenyByDefault(t *testing.T) {
	empty, err := ParseAllowList(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		a    *AllowList
	}{
		{desc: "nil list", a: nil},
		{desc: "zero value", a: &AllowList{}},
		{desc: "empty list", a: empty},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if tt.a.Allows("127.0.0.1:6379") {
				t.Error("an empty allow list allowed a route")
			}
		})
	}
}
