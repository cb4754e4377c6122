package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// admin.client_ca_file: the /v1/ API accepts a client certificate signed
// by that CA instead of a token, refuses a caller without one, and the
// audit line names the certificate's subject.
func TestAdminAPIWithClientCertificate(t *testing.T) {
	up := redistest.Start(t)
	ca := newTestCA(t)
	srv := ca.issue("admin", true, "127.0.0.1")
	bot := ca.issue("bot", false, "ops-bot")
	addr, admin := freeAddr(t), freeAddr(t)
	cfg := `
listen: [{address: ` + addr + `}]
admin: {address: ` + admin + `, cert_file: ` + srv.CertFile + `, key_file: ` + srv.KeyFile + `, client_ca_file: ` + ca.CAFile + `}
store: {path: ` + filepath.Join(t.TempDir(), "s.db") + `}
upstreams: {main: {address: ` + up.Addr + `}}
`
	g := startGateway(t, cfg, addr, admin)
	url := "https://" + admin
	t.Setenv("REDOUBT_ADMIN_TOKEN", "")
	if code, _, errOut := runCLI(t, "tenant", "put", "m", "--upstream", "main", "--db", "2", "--admin", url, "--ca", ca.CAFile); code != 1 || !strings.Contains(errOut, "401") {
		t.Fatalf("without a certificate: %d %s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "tenant", "put", "m", "--upstream", "main", "--db", "2", "--admin", url,
		"--ca", ca.CAFile, "--cert", bot.CertFile, "--key", bot.KeyFile); code != 0 {
		t.Fatalf("with a certificate: %d %s %s", code, out, errOut)
	}
	if !strings.Contains(g.Log.String(), "subject=cert:ops-bot") {
		t.Errorf("audit line without the certificate subject:\n%s", g.Log.String())
	}
}
