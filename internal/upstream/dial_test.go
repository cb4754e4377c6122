package upstream

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
)

func TestDialLogsInAndSelects(t *testing.T) {
	s := redistest.Start(t, "--requirepass", "up-pass")
	s2 := redistest.Start(t)
	acl := redistest.Start(t)
	// An ACL user "proxy" on the third server.
	c, err := net.Dial("tcp", acl.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ACL SETUSER proxy on >proxy-pass ~* &* +@all\r\n"))
	buf := make([]byte, 64)
	c.Read(buf)
	c.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		desc    string
		target  *Target
		opts    LoginOptions
		wantErr string
		check   func(t *testing.T, uc *Conn)
	}{
		{desc: "password + SELECT", target: &Target{Name: "p", Address: s.Addr, Creds: StaticCredentials{Pass: "up-pass"}},
			opts: LoginOptions{DB: 3, WantClientID: true}, check: func(t *testing.T, uc *Conn) {
				if uc.ClientID <= 0 {
					t.Fatalf("client id %d", uc.ClientID)
				}
				uc.Write([]byte("CLIENT INFO\r\n"))
				info := make([]byte, 4096)
				_ = uc.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _ := uc.Read(info)
				if !strings.Contains(string(info[:n]), " db=3 ") {
					t.Fatalf("CLIENT INFO after login: %q, want db=3", info[:n])
				}
			}},
		{desc: "ACL user", target: &Target{Name: "a", Address: acl.Addr, Creds: StaticCredentials{User: "proxy", Pass: "proxy-pass"}}},
		{desc: "HELLO 3 with the proxy's credentials", target: &Target{Name: "p", Address: s.Addr, Creds: StaticCredentials{Pass: "up-pass"}},
			opts: LoginOptions{Hello: &Hello{Proto: 3, SetName: []byte("cli")}}, check: func(t *testing.T, uc *Conn) {
				if len(uc.HelloReply) == 0 || uc.HelloReply[0] != '%' || !strings.Contains(string(uc.HelloReply), "proto") {
					t.Fatalf("HELLO reply %q", uc.HelloReply)
				}
			}},
		{desc: "no auth", target: &Target{Name: "n", Address: s2.Addr}, opts: LoginOptions{DB: 1, ClientName: "redoubt-x"}},
		{desc: "wrong password", target: &Target{Name: "p", Address: s.Addr, Creds: StaticCredentials{Pass: "wrong-pass"}}, wantErr: "refused auth"},
		{desc: "DB out of range", target: &Target{Name: "n", Address: s2.Addr}, opts: LoginOptions{DB: 99}, wantErr: "refused select"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			uc, err := Dial(ctx, tc.target, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "wrong-pass") {
					t.Fatal("the error contains the password")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer uc.Close()
			if tc.check != nil {
				tc.check(t, uc)
			}
		})
	}
}

func TestDialUnreachableTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() // accepts (backlog) but never answers the login
	_, err = Dial(context.Background(), &Target{Name: "silent", Address: l.Addr().String(),
		Creds: StaticCredentials{Pass: "x"}, DialTimeout: 300 * time.Millisecond}, LoginOptions{})
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// A server without CLIENT (renamed away, as some managed caches do) still
// takes the session; it only has no id to list.
func TestDialWithoutClientID(t *testing.T) {
	s := redistest.Start(t, "--rename-command", "CLIENT", "")
	uc, err := Dial(context.Background(), &Target{Name: "n", Address: s.Addr}, LoginOptions{DB: 2, WantClientID: true})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if uc.ClientID != 0 || len(uc.Rest) != 0 {
		t.Fatalf("ClientID %d, Rest %q; want 0 and nothing left over", uc.ClientID, uc.Rest)
	}
}
