package config

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseValidExample(t *testing.T) {
	f := writeTLSFiles(t)
	c, err := Parse([]byte(validConfigText(f)), validEnv().lookup)
	if err != nil {
		t.Fatalf("valid example rejected:\n%v", err)
	}
	if got, want := len(c.Listen), 2; got != want {
		t.Errorf("listeners = %d, want %d", got, want)
	}
	if c.Listen[1].TLS == nil || c.Listen[1].TLS.ClientCAFile != f.ca {
		t.Errorf("listen[1].tls = %+v", c.Listen[1].TLS)
	}
	if got := c.Upstreams["iam"].Auth.CacheName; got != "my-cache" {
		t.Errorf("cache_name = %q, want it lowercased to my-cache", got)
	}
	if got := c.Upstreams["bobs"].DialTimeout.D(); got != 2*time.Second {
		t.Errorf("bobs dial_timeout = %v, want 2s as written", got)
	}
	if got := c.Tenants[1].Commands; got != "+@read -keys" {
		t.Errorf("carol commands = %q", got)
	}
	if got := c.Limits.AuthTimeout.D(); got != 5*time.Second {
		t.Errorf("auth_timeout = %v, want 5s as written", got)
	}
	if c.Log.Level != "debug" || c.Log.Format != "json" {
		t.Errorf("log = %+v", c.Log)
	}
}

func TestLoadReadsFileAndProcessEnvironment(t *testing.T) {
	f := writeTLSFiles(t)
	for k, v := range validEnv() {
		t.Setenv(k, v)
	}
	path := filepath.Join(t.TempDir(), "redoubt.yaml")
	writeFile(t, path, []byte(validConfigText(f)))
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Upstreams["main"].Auth.Password; got != redisPassword {
		t.Errorf("password not resolved from the process environment")
	}

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !os.IsNotExist(err) {
		t.Errorf("Load(missing) = %v, want a not-exist error", err)
	}
}

func TestSecretsResolved(t *testing.T) {
	f := writeTLSFiles(t)
	c, err := Parse([]byte(validConfigText(f)), validEnv().lookup)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc      string
		got, want any
	}{
		{"password mode", c.Upstreams["main"].Auth.Password, redisPassword},
		{"acl mode", c.Upstreams["bobs"].Auth.Password, bobRedisPassword},
		{"upstream_defaults", c.Tokens.UpstreamDefaults.Auth.Password, redisPassword},
		{"secret_sha256 decoded", c.Tenants[0].SecretDigest, SecretDigest(alicePlain)},
		{"secret_env hashed", c.Tenants[1].SecretDigest, SecretDigest(carolSecret)},
		{"second secret_env", c.Tenants[2].SecretDigest, SecretDigest(bobSecret)},
		{"mTLS tenant has no secret", c.Tenants[3].SecretDigest, [32]byte{}},
		{"token key", string(c.Tokens.Keys[0].Secret), tokenKey},
		{"legacy secret", c.Tokens.LegacySecret, sharedSecret},
		{"aws-iam has no password", c.Upstreams["iam"].Auth.Password, ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.desc, tt.got, tt.want)
		}
	}
}

func TestSecretDigest(t *testing.T) {
	// sha256("abc"), FIPS 180-2 test vector.
	got := SecretDigest("abc")
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if h := hex.EncodeToString(got[:]); h != want {
		t.Errorf("SecretDigest(abc) = %s, want %s", h, want)
	}
}

func TestDefaultsApplied(t *testing.T) {
	yml := `
listen: [{address: ":6380"}]
upstreams:
  main: {address: "localhost:6379"}
  iam:
    address: "c.cache.amazonaws.com:6379"
    tls: {enabled: true}
    auth: {mode: aws-iam, username: u, cache_name: C}
tenants:
  - {name: a, secret_sha256: "` + strings.Repeat("ab", 32) + `", upstream: main, db: 1}
`
	c, err := Parse([]byte(yml), fakeEnv{}.lookup)
	if err != nil {
		t.Fatal(err)
	}
	iam := c.Upstreams["iam"].Auth
	tests := []struct {
		desc      string
		got, want any
	}{
		{"limits.auth_timeout", c.Limits.AuthTimeout.D(), 10 * time.Second},
		{"limits.max_auth_failures", c.Limits.MaxAuthFailures, 3},
		{"limits.preauth_max_args", c.Limits.PreAuthMaxArgs, 10},
		{"limits.preauth_max_bulk", c.Limits.PreAuthMaxBulk, 16384},
		{"limits.max_bulk_len", c.Limits.MaxBulkLen, int64(512 << 20)},
		{"limits.max_inline_len", c.Limits.MaxInlineLen, 64 << 10},
		{"limits.max_connections is derived at start", c.Limits.MaxConnections, 0},
		{"limits.shutdown_grace", c.Limits.ShutdownGrace.D(), 30 * time.Second},
		{"limits.dial_timeout", c.Limits.DialTimeout.D(), 5 * time.Second},
		{"limits.splice_min_bytes", c.Limits.SpliceMinBytes, 262144},
		{"limits.passthrough_buf_size", c.Limits.PassthroughBufSize, 65536},
		{"limits.auth_fail_per_addr", c.Limits.AuthFailPerAddr, 30},
		{"limits.auth_fail_window", c.Limits.AuthFailWindow.D(), time.Minute},
		{"upstream auth.mode", c.Upstreams["main"].Auth.Mode, AuthNone},
		{"upstream max_db", *c.Upstreams["main"].MaxDB, 15},
		{"upstream dial_timeout from limits", c.Upstreams["main"].DialTimeout.D(), 5 * time.Second},
		{"upstream_defaults dial_timeout", c.Tokens.UpstreamDefaults.DialTimeout.D(), 5 * time.Second},
		{"upstream_defaults auth.mode", c.Tokens.UpstreamDefaults.Auth.Mode, AuthNone},
		{"tenant role is readwrite, never full", c.Tenants[0].Role, RoleReadWrite},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"aws-iam token_lifetime", iam.TokenLifetime.D(), 15 * time.Minute},
		{"aws-iam reauth_interval", iam.ReauthInterval.D(), 10 * time.Hour},
		{"aws-iam max_connection_age", iam.MaxConnectionAge.D(), 11 * time.Hour},
		{"aws-iam cache_name lowercased", iam.CacheName, "c"},
		{"non-IAM upstream gets no IAM durations", c.Upstreams["main"].Auth.TokenLifetime, Duration(0)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.desc, tt.got, tt.want)
		}
	}
}

func TestDefaultsKeepExplicitValuesAndAreIdempotent(t *testing.T) {
	c := &Config{
		Limits:    Limits{DialTimeout: Duration(time.Second), MaxAuthFailures: 7},
		Upstreams: map[string]Upstream{"u": {MaxDB: intp(63)}},
		Tenants:   []Tenant{{Role: RoleFull}},
	}
	c.ApplyDefaults()
	c.ApplyDefaults()
	if got := c.Upstreams["u"].DialTimeout.D(); got != time.Second {
		t.Errorf("upstream dial_timeout = %v, want limits.dial_timeout 1s", got)
	}
	if c.Limits.MaxAuthFailures != 7 || *c.Upstreams["u"].MaxDB != 63 || c.Tenants[0].Role != RoleFull {
		t.Errorf("explicit values overwritten: %+v", c)
	}
}
