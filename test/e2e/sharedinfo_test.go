package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSharedInfo: INFO through a shared tenant shows what clients read at
// start-up and nothing about the neighbour or the host, in RESP2 and RESP3.
func TestSharedInfo(t *testing.T) {
	e := startTenantUsersEnv(t)
	ctx := context.Background()
	mustOK(t, e.direct(t, e.managed, tuDBOther).Set(ctx, "theirs", "1", 0).Err())
	for _, proto := range []int{2, 3} {
		c := redis.NewClient(&redis.Options{Addr: e.addr, Username: "alice", Password: tuSecrets["alice"],
			Protocol: proto, DisableIdentity: true})
		mustOK(t, c.Set(ctx, "mine", "1", 0).Err())
		info, err := c.Info(ctx, "everything").Result()
		c.Close()
		mustOK(t, err)
		for _, want := range []string{"redis_version:7.", "redis_mode:standalone", "loading:0", "role:master",
			"maxmemory_policy:", "# Keyspace\r\ndb3:keys=1"} {
			if !strings.Contains(info, want) {
				t.Errorf("RESP%d: INFO lacks %q", proto, want)
			}
		}
		for _, leak := range []string{"db4:", "connected_clients:", "used_memory:", "executable:", "config_file:",
			"cmdstat_", "errorstat_", "process_id:", "tcp_port:", "total_connections_received:", "os:"} {
			if strings.Contains(info, leak) {
				t.Errorf("RESP%d: INFO shows %q", proto, leak)
			}
		}
	}
}

// TestSharedNumPat: PUBSUB NUMPAT answers the distinct patterns of all the
// tenant's sessions on the upstream, not the server's count and not only
// the asking session's.
func TestSharedNumPat(t *testing.T) {
	e := startTenantUsersEnv(t)
	ctx := context.Background()
	sub := func(name string, patterns ...string) *redis.PubSub {
		ps := e.tenant(t, name).PSubscribe(ctx, patterns...)
		for range patterns {
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { ps.Close() })
		return ps
	}
	sub("alice", "news.*")
	second := sub("alice", "news.*", "sport.*")
	sub("carol", "a.*", "b.*", "c.*")
	numpat := func(name string) int64 {
		n, err := e.tenant(t, name).PubSubNumPat(ctx).Result()
		mustOK(t, err)
		return n
	}
	if n := numpat("alice"); n != 2 {
		t.Errorf("alice's NUMPAT = %d, want 2 (news.* and sport.*)", n)
	}
	if n := numpat("carol"); n != 3 {
		t.Errorf("carol's NUMPAT = %d, want 3", n)
	}
	if n, _ := e.direct(t, e.managed, 0).PubSubNumPat(ctx).Result(); n != 5 {
		t.Errorf("the server's NUMPAT = %d, want 5", n)
	}
	second.Close()
	waitFor(t, 5*time.Second, "alice's NUMPAT to drop to 1", func() bool { return numpat("alice") == 1 })
}
