package etcd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redoubt-proxy/redoubt/internal/config"
	"github.com/redoubt-proxy/redoubt/internal/etcdtest"
)

// With etcd authentication on, the source reads with username and
// password (sources.etcd.username / password_env); a wrong password gets
// no view at all, not an empty one.
func TestEtcdAuthentication(t *testing.T) {
	srv := etcdtest.Start(t)
	admin := client(t, srv.Endpoint)
	ctx := context.Background()
	put(t, admin, "alice", record("a"))
	if _, err := admin.UserAdd(ctx, "root", "root-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}

	open := func(password string) (*Source, bool) {
		user := "root"
		if password == "" {
			user = ""
		}
		cli, err := NewClient(config.EtcdSource{Endpoints: []string{srv.Endpoint}, Username: user, Password: password})
		if err != nil {
			// The client logs in as it connects.
			if password != "" && strings.Contains(err.Error(), password) {
				t.Fatalf("error names the password: %v", err)
			}
			return nil, false
		}
		t.Cleanup(func() { cli.Close() })
		src := New(Options{Config: config.EtcdSource{Prefix: prefix, DialTimeout: config.Duration(time.Second)}, Client: cli})
		sctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		return src, src.Start(sctx, 3*time.Second)
	}
	src, ok := open("root-password")
	if !ok {
		t.Fatal("no view with the right password")
	}
	waitNames(t, src, "alice:1")
	if src, ok := open("wrong-password"); ok {
		t.Fatalf("a view with a wrong password: %q", names(src.View()))
	}
	if src, ok := open(""); ok {
		t.Fatalf("a view without a password: %q", names(src.View()))
	}
	if _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
}
