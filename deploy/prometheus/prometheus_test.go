// Package prometheus holds redoubt's alerting rules. Its test runs
// Prometheus's own checker on them: `promtool check rules` (syntax, PromQL,
// templates) and `promtool test rules alerts_test.yaml` (each alert fires
// on the series meant to trigger it, with the expected text).
package prometheus

import (
	"os/exec"
	"testing"
)

func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run `make deps` (Debian package prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
