package config

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// No configuration error repeats a value, whatever key it was typed into:
// a secret pasted into the wrong key would otherwise reach terminals, CI
// logs and the running gateway's reload log. Every scalar of the valid
// example is replaced in turn by a canary (one shaped like a variable
// name, as a pasted hex secret is, one like free text, one like a
// duration's garbage), and no error may contain it.
func TestErrorsNeverEchoAValue(t *testing.T) {
	f := writeTLSFiles(t)
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(validConfigText(f)), &root); err != nil {
		t.Fatal(err)
	}
	var scalars []*yaml.Node
	var walk func(n *yaml.Node, isKey bool)
	walk = func(n *yaml.Node, isKey bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if !isKey {
				scalars = append(scalars, n)
			}
		case yaml.MappingNode:
			for i, c := range n.Content {
				walk(c, i%2 == 0)
			}
		default:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	walk(&root, false)
	if len(scalars) < 40 {
		t.Fatalf("only %d values found in the example; the walk is broken", len(scalars))
	}
	canaries := []string{
		"C4NARY0123456789abcdef0123456789abcdef0123456789abcdef01234567",
		"c4nary secret/with?odd %41 chars",
		"10c4nary",
	}
	tested := 0
	for _, canary := range canaries {
		for _, n := range scalars {
			old, oldTag, oldStyle := n.Value, n.Tag, n.Style
			n.Value, n.Tag, n.Style = canary, "!!str", yaml.DoubleQuotedStyle
			data, err := yaml.Marshal(&root)
			n.Value, n.Tag, n.Style = old, oldTag, oldStyle
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, validEnv().lookup)
			if err == nil {
				continue // some keys take any string (a username)
			}
			tested++
			if strings.Contains(strings.ToLower(err.Error()), "c4nary") {
				t.Errorf("value typed at line %d is echoed:\n%v", n.Line, err)
			}
		}
	}
	if tested < len(scalars) {
		t.Fatalf("only %d of %d substitutions were refused; the test is not exercising validation", tested, len(scalars)*len(canaries))
	}
}
