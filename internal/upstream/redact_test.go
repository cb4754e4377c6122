package upstream

import (
	"context"
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

// An upstream that does not know HELLO (renamed away here, as on managed
// or older servers) or AUTH echoes the arguments in its error, the
// password among them; the dial error, which the gateway logs, must not
// carry it.
func TestLoginErrorsDoNotEchoThePassword(t *testing.T) {
	const pass = "Up-Pass-0123456789-s3cret"
	noHello := redistest.Start(t, "--requirepass", pass, "--rename-command", "HELLO", "")
	noAuth := redistest.Start(t, "--rename-command", "AUTH", "")
	ctx := context.Background()
	for _, tc := range []struct {
		desc   string
		addr   string
		creds  StaticCredentials
		opts   LoginOptions
		prefix string
	}{
		{desc: "HELLO 3 AUTH to a server without HELLO", addr: noHello.Addr, creds: StaticCredentials{Pass: pass},
			opts: LoginOptions{Hello: &Hello{Proto: 3, SetName: []byte("app")}}, prefix: "refused hello: ERR unknown command [...]"},
		{desc: "HELLO 3 AUTH user to a server without HELLO", addr: noHello.Addr, creds: StaticCredentials{User: "proxy", Pass: pass},
			opts: LoginOptions{Hello: &Hello{Proto: 3}}, prefix: "refused hello: ERR unknown command [...]"},
		{desc: "AUTH to a server without AUTH", addr: noAuth.Addr, creds: StaticCredentials{Pass: pass},
			prefix: "refused auth: ERR unknown command [...]"},
		{desc: "AUTH user pass to a server without AUTH", addr: noAuth.Addr, creds: StaticCredentials{User: "proxy", Pass: pass},
			opts: LoginOptions{DB: 2}, prefix: "refused auth: ERR unknown command [...]"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := Dial(ctx, &Target{Name: "u", Address: tc.addr, Creds: tc.creds}, tc.opts)
			if err == nil {
				t.Fatal("login succeeded")
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), pass[:10]) {
				t.Fatalf("error carries the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.prefix) {
				t.Fatalf("error %q, want it to contain %q", err, tc.prefix)
			}
		})
	}
}

func TestRedactReply(t *testing.T) {
	for _, tc := range []struct {
		desc, msg string
		sent      []string
		want      string
	}{
		{desc: "redis echo", msg: "ERR unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'default' 'pw'",
			want: "ERR unknown command [...]"},
		{desc: "unquoted echo", msg: "ERR unknown command HELLO 3 AUTH default hunter",
			sent: []string{"HELLO", "3", "AUTH", "default", "hunter"}, want: "ERR unknown command [...]"},
		{desc: "letters-only password without our command before it", msg: "ERR bad password hunter",
			sent: []string{"hunter"}, want: "ERR bad password [...]"},
		{desc: "password inside a word", msg: "ERR bad credential:hunter2x", sent: []string{"hunter2x"}, want: "ERR bad [...]"},
		{desc: "plain error kept whole", msg: "WRONGPASS invalid username-password pair or user is disabled.",
			want: "WRONGPASS invalid username-password pair or user is disabled."},
		{desc: "long text cut", msg: "NOAUTH HELLO must be called with the client already authenticated, otherwise",
			sent: []string{"x"}, want: "NOAUTH HELLO must be called with the client [...]"},
		{desc: "empty", msg: "", want: ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := RedactReply([]byte(tc.msg), tc.sent...); got != tc.want {
				t.Fatalf("RedactReply(%q) = %q, want %q", tc.msg, got, tc.want)
			}
		})
	}
}
