package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// tlsFiles are PEM files made fresh for each test: a self-signed
// certificate (also used as the CA), its key, and an unrelated key.
type tlsFiles struct {
	cert, key, ca, otherKey, notPEM string
}

func writeTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redoubt test"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f := tlsFiles{
		cert:     filepath.Join(dir, "cert.pem"),
		key:      filepath.Join(dir, "key.pem"),
		ca:       filepath.Join(dir, "ca.pem"),
		otherKey: filepath.Join(dir, "other-key.pem"),
		notPEM:   filepath.Join(dir, "not.pem"),
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	writeFile(t, f.cert, certPEM)
	writeFile(t, f.ca, certPEM)
	writeFile(t, f.key, keyPEM(t, key))
	writeFile(t, f.otherKey, keyPEM(t, newKey(t)))
	writeFile(t, f.notPEM, []byte("this is not PEM\n"))
	return f
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fakeEnv is a lookupEnv backed by a map.
type fakeEnv map[string]string

func (e fakeEnv) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// Secret values of the valid example. Each is distinctive, so a test can
// search every error string for them.
const (
	alicePlain       = "alice-secret-7f3a9c"
	redisPassword    = "redis-password-V4lu3-a1b2"
	bobRedisPassword = "bob-redis-password-V4lu3-c3d4"
	carolSecret      = "carol-secret-V4lu3-e5f6"
	bobSecret        = "bob-secret-V4lu3-g7h8"
	tokenKey         = "token-key-V4lu3-0123456789abcdef0123456789"
	sharedSecret     = "legacy-shared-secret-V4lu3-i9j0"
)

func validEnv() fakeEnv {
	return fakeEnv{
		"REDIS_PASSWORD":     redisPassword,
		"BOB_REDIS_PASSWORD": bobRedisPassword,
		"CAROL_SECRET":       carolSecret,
		"BOB_SECRET":         bobSecret,
		"REDOUBT_TOKEN_KEY":  tokenKey,
		"SHARED_SECRET":      sharedSecret,
	}
}

// validYAML is the configuration contract's example made valid: bob (role
// full) has an upstream of his own, and every feature appears once.
// @CERT@, @KEY@ and @CA@ are replaced with generated files.
const validYAML = `
listen:
  - address: 127.0.0.1:6380
  - address: 127.0.0.1:6443
    tls: {cert_file: "@CERT@", key_file: "@KEY@", client_ca_file: "@CA@"}
admin: {address: 127.0.0.1:9121}
upstreams:
  main:
    address: 127.0.0.1:6379
    auth: {mode: password, password_env: REDIS_PASSWORD}
  bobs:
    address: 127.0.0.1:6378
    tls: {enabled: true, ca_file: "@CA@", server_name: localhost}
    auth: {mode: acl, username: proxy, password_env: BOB_REDIS_PASSWORD}
    dial_timeout: 2s
  iam:
    address: my-cache-abc.serverless.euw1.cache.amazonaws.com:6379
    tls: {enabled: true}
    auth: {mode: aws-iam, username: proxy, cache_name: My-Cache, region: eu-west-1, serverless: true}
tenants:
  - name: alice
    secret_sha256: "@ALICE_SHA@"
    upstream: main
    db: 3
    role: readwrite
    share_db: true
    end_sessions_at_expiry: false
    max_ops_per_second: 2000
    max_bytes_per_second: 10485760
    max_request_bytes: 8388608
    max_value_bytes: 1048576
    max_offset: 1048576
    max_keys: 100000
    max_memory_bytes: 268435456
  - name: carol
    secret_env: CAROL_SECRET
    upstream: main
    db: 4
    role: readonly
    commands: "+@read -keys"
    credentials:
      - {id: rotated, secret_sha256: "8d6fbb7c1d1f4e1b2b3e0e6a3c2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", expires_at: "2031-01-01T00:00:00Z"}
  - name: bob
    secret_env: BOB_SECRET
    upstream: bobs
    role: full
  - name: dave.mtls
    upstream: iam
tokens:
  keys: [{id: k1, secret_env: REDOUBT_TOKEN_KEY}]
  legacy_secret_env: SHARED_SECRET
  allow_upstreams: ["127.0.0.1:*", "*.cache.amazonaws.com:6379", "10.0.0.0/8:6379", "[fd00::/8]:*"]
  revoked: ["0123456789ABCDEF-0123456789abcdef"]  # normalised to lower case, dashes dropped
  upstream_defaults:
    tls: {enabled: true}
    auth: {mode: acl, username: proxy, password_env: REDIS_PASSWORD}
limits:
  auth_timeout: 5s
  max_connections: 1000
  tenant_defaults: {max_ops_per_second: 5000, max_keys: 1000000}
  throttle_max_delay: 500ms
  quota_interval: 2s
log: {level: debug, format: json}
`

func validConfigText(f tlsFiles) string {
	digest := SecretDigest(alicePlain)
	return strings.NewReplacer(
		"@CERT@", f.cert, "@KEY@", f.key, "@CA@", f.ca,
		"@ALICE_SHA@", strings.ToUpper(hex.EncodeToString(digest[:])), // upper case is accepted too
	).Replace(validYAML)
}

// validConfig decodes the valid example without defaults or validation,
// for tests to break one thing in.
func validConfig(t *testing.T, f tlsFiles) *Config {
	t.Helper()
	var c Config
	if err := yaml.Unmarshal([]byte(validConfigText(f)), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// reparse writes c back to YAML and runs it through Parse, so every case
// exercises the whole path a file takes.
func reparse(t *testing.T, c *Config, env fakeEnv) (*Config, error) {
	t.Helper()
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data, env.lookup)
}

func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func intp(n int) *int { return &n }
