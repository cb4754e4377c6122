package config

import (
	"strings"
	"testing"
	"time"
)

const minimalYAML = `listen: [{address: "127.0.0.1:6380"}]
upstreams:
  main:
    address: 127.0.0.1:6379
    auth:
      mode: none
tenants:
  - name: a
    secret_env: A_SECRET
    upstream: main
`

func TestParseDecodeErrors(t *testing.T) {
	env := fakeEnv{"A_SECRET": "s"}
	tests := []struct {
		desc string
		yaml string
		want []string // substrings, each expected in the error
		// count is the number of problems expected, 0 to skip the check
		count int
	}{
		{
			desc:  "unknown key with line, path and suggestion",
			yaml:  strings.Replace(minimalYAML, "mode: none", "mode: none\n      passwrd_env: X", 1),
			want:  []string{`line 7: upstreams.main.auth.passwrd_env: unknown key (did you mean "password_env"?)`},
			count: 1,
		},
		{
			desc:  "unknown top-level key lists known keys",
			yaml:  minimalYAML + "frobnicate: true\n",
			want:  []string{"line 11: frobnicate: unknown key (known keys: admin, broker, limits, listen, log, store, tenants, tokens, upstreams)"},
			count: 1,
		},
		{
			desc:  "unknown key in a list item",
			yaml:  strings.Replace(minimalYAML, "upstream: main", "upstream: main\n    rol: full", 1),
			want:  []string{`line 11: tenants[0].rol: unknown key (did you mean "role"?)`},
			count: 1,
		},
		{
			desc: "unknown keys are reported with validation problems",
			yaml: strings.Replace(minimalYAML, "upstream: main", "upstream: nowhere\n    dbb: 3", 1),
			want: []string{
				"line 11: tenants[0].dbb: unknown key",
				"tenants[0].upstream: names no entry of upstreams",
			},
			count: 2,
		},
		{
			desc:  "several unknown keys, all reported",
			yaml:  minimalYAML + "limits: {max_conn: 1, auth_timeot: 1s}\n",
			want:  []string{"limits.max_conn: unknown key", "limits.auth_timeot: unknown key"},
			count: 2,
		},
		{
			desc:  "wrong type names the key path",
			yaml:  minimalYAML + "limits:\n  max_connections: lots\n",
			want:  []string{"line 12: limits.max_connections: cannot unmarshal !!str into int"},
			count: 1,
		},
		{
			desc: "wrong types are reported with every other problem, and their zero is not judged",
			yaml: strings.Replace(minimalYAML, "    address: 127.0.0.1:6379\n", "    address: [127.0.0.1:6379]\n", 1) +
				"  - name: b\n    secret_env: B_SECRET\n    upstream: nowhere\n    db: [1]\nlog:\n  level: loud\n",
			want: []string{
				"line 4: upstreams.main.address: cannot unmarshal !!seq into string",
				"line 14: tenants[1].db: cannot unmarshal !!seq into int",
				"tenants[1].upstream: names no entry of upstreams",
				"tenants[1].secret_env: the environment variable this key names is not set",
				"log.level: unknown level",
			},
			count: 5, // no "address required" for the zero the bad address left
		},
		{
			desc:  "a wrong type whose key path is unknown (flow mapping) stops the checks",
			yaml:  minimalYAML + "  - {name: b, secret_env: B_SECRET, upstream: nowhere, db: [1]}\n",
			want:  []string{"line 11: cannot unmarshal !!seq into int"},
			count: 1,
		},
		{
			desc:  "bad duration",
			yaml:  minimalYAML + "limits:\n  auth_timeout: 10\n",
			want:  []string{"line 12: limits.auth_timeout: not a duration, want one"},
			count: 1,
		},
		{
			desc:  "duration given as a map",
			yaml:  minimalYAML + "limits:\n  auth_timeout: {s: 1}\n",
			want:  []string{"line 12: limits.auth_timeout: not a duration, want one such as"},
			count: 1,
		},
		{
			desc: "YAML syntax error",
			yaml: "listen: [\n",
			want: []string{"yaml: line"},
		},
		{
			desc:  "two documents",
			yaml:  minimalYAML + "---\nlisten: []\n",
			want:  []string{"more than one YAML document"},
			count: 1,
		},
		{
			desc:  "empty file is an empty config",
			yaml:  "",
			want:  []string{"listen: at least one listener is required", "upstreams: at least one upstream"},
			count: 2,
		},
		{
			desc:  "a top-level list is not a config",
			yaml:  "- a\n- b\n",
			want:  []string{"line 1: cannot unmarshal !!seq into config.Config"},
			count: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env.lookup)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c != nil {
				t.Errorf("got a Config together with an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if n := len(errLines(err)); tt.count > 0 && n != tt.count {
				t.Errorf("got %d problems, want %d:\n%v", n, tt.count, err)
			}
		})
	}
}

func TestParseAnchorsAndPassThrough(t *testing.T) {
	// Anchors are plain YAML and must keep working; b owns "other".
	yml := strings.Replace(minimalYAML, "upstreams:\n",
		"upstreams:\n  other: {address: \"10.0.0.1:6379\", tls: &tls {enabled: false}}\n", 1)
	yml = strings.Replace(yml, "    auth:\n", "    tls: *tls\n    auth:\n", 1)
	yml += "  - {name: b, secret_env: A_SECRET, upstream: other, role: full}\n"
	c, err := Parse([]byte(yml), fakeEnv{"A_SECRET": "s"}.lookup)
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if c.Tenants[0].PassThrough(c) || !c.Tenants[1].PassThrough(c) {
		t.Errorf("pass-through: a=%v b=%v, want false true", c.Tenants[0].PassThrough(c), c.Tenants[1].PassThrough(c))
	}
}

func TestUnknownKeyInsideAliasStillRejected(t *testing.T) {
	yml := strings.Replace(minimalYAML, "upstreams:\n",
		"upstreams:\n  other: &o {address: \"10.0.0.1:6379\", bogus: 1}\n  third: *o\n", 1)
	_, err := Parse([]byte(yml), fakeEnv{"A_SECRET": "s"}.lookup)
	if err == nil || !strings.Contains(err.Error(), "upstreams.other.bogus: unknown key") {
		t.Errorf("got %v", err)
	}
}

func TestDurationUnmarshal(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{desc: "seconds", in: "10s", want: 10 * time.Second},
		{desc: "compound", in: "1h30m", want: 90 * time.Minute},
		{desc: "quoted", in: `"250ms"`, want: 250 * time.Millisecond},
		{desc: "negative parses (Validate refuses it)", in: "-5s", want: -5 * time.Second},
		{desc: "zero", in: "0s", want: 0},
		{desc: "bare number", in: "10", wantErr: "line 1: limits.auth_timeout: not a duration, want one"},
		{desc: "garbage", in: "soon", wantErr: "not a duration"},
		{desc: "list", in: "[1s]", wantErr: "not a duration, want one such as"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			// A bad duration does not stop decoding: it is reported with
			// the unknown keys, and validation still runs.
			c, soft, _, err := decode([]byte("limits: {auth_timeout: " + tt.in + "}"))
			if tt.wantErr != "" {
				err = soft
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Limits.AuthTimeout.D(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDurationMarshalRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 90 * time.Minute, 1500 * time.Millisecond} {
		v, err := Duration(d).MarshalYAML()
		if err != nil {
			t.Fatal(err)
		}
		c, _, _, err := decode([]byte("limits: {auth_timeout: " + v.(string) + "}"))
		if err != nil || c.Limits.AuthTimeout.D() != d {
			t.Errorf("%v -> %v -> %v, %v", d, v, c.Limits.AuthTimeout.D(), err)
		}
	}
}
