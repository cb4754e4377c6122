package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The configuration example in docs/broker.md must stay valid.
func TestBrokerDocExampleIsValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/broker.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) == 0 {
		t.Fatal("docs/broker.md has no yaml example")
	}
	f := writeTLSFiles(t)
	files := strings.NewReplacer(
		"/etc/redoubt/server.pem", f.cert, "/etc/redoubt/server-key.pem", f.key,
		"/etc/redoubt/broker.pem", f.cert, "/etc/redoubt/broker-key.pem", f.key,
	)
	env := fakeEnv{"BROKER_PASSWORD": "b", "SHARED_A_PASSWORD": "a", "SHARED_B_PASSWORD": "b"}
	c, err := Parse([]byte(files.Replace(blocks[0][1])), env.lookup)
	if err != nil {
		t.Fatalf("docs/broker.md example rejected:\n%v", err)
	}
	if c.Broker == nil || len(c.Broker.Services[0].Plans) != 3 {
		t.Fatalf("example parsed without its broker: %+v", c.Broker)
	}
}
