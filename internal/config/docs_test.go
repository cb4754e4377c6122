package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The examples in docs/configuration.md must stay valid: users copy them.
func TestDocumentedExamplesAreValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	f := writeTLSFiles(t)
	files := strings.NewReplacer(
		"/etc/redoubt/server.pem", f.cert,
		"/etc/redoubt/server-key.pem", f.key,
		"/etc/redoubt/clients-ca.pem", f.ca,
		"/etc/redoubt/redis-ca.pem", f.ca,
	)
	env := fakeEnv{}
	for _, v := range []string{"REDIS_PASSWORD", "BOB_REDIS_PASSWORD", "CAROL_SECRET", "BOB_SECRET",
		"SHARED_SECRET", "APP_SECRET", "REDOUBT_ADMIN_TOKEN", "CAROL_CI_SECRET"} {
		env[v] = "value-of-" + v
	}
	env["REDOUBT_TOKEN_KEY_K1"] = strings.Repeat("1", 32)
	env["REDOUBT_TOKEN_KEY_K2"] = strings.Repeat("2", 32)

	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d yaml examples, want the complete and the minimal one", len(blocks))
	}
	for i, b := range blocks {
		if _, err := Parse([]byte(files.Replace(b[1])), env.lookup); err != nil {
			t.Errorf("example %d rejected:\n%v", i, err)
		}
	}
}
