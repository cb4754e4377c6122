package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redoubt-proxy/redoubt/internal/redistest"
	"github.com/redoubt-proxy/redoubt/internal/store"
)

// Eight admin clients PUT, DELETE, issue and revoke at random for 10 s
// while 200 sessions of a tenant nobody touches run commands: no session
// of that tenant ends, nothing panics (run with -race), and the store on
// disk ends up exactly as the API last showed it.
func TestControlPlaneConcurrentChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s of load")
	}
	up := redistest.Start(t, "--maxclients", "2000")
	g := startCPGateway(t, up.Addr, "", "")
	g.must(t, 201, "PUT", "/v1/tenants/stable", map[string]any{"upstream": "main", "db": 15})
	secret := g.issue(t, "stable", "s", "")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var ops, failures atomic.Int64
	for i := range 200 {
		c := redis.NewClient(&redis.Options{Addr: g.addr, Username: "stable", Password: secret, PoolSize: 1,
			MaxRetries: -1, DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second})
		t.Cleanup(func() { c.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", i)
			for ctx.Err() == nil {
				if err := c.Set(context.Background(), key, "v", 0).Err(); err != nil {
					failures.Add(1)
					t.Errorf("session %d: %v", i, err)
					return
				}
				ops.Add(1)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	var calls atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				n := r.IntN(4)
				name := fmt.Sprintf("t%d", n)
				path := "/v1/tenants/" + name
				var code int
				switch r.IntN(4) {
				case 0:
					code, _ = g.api(t, "PUT", path, cpAdminToken, map[string]any{"upstream": "main", "db": 2 + n})
				case 1:
					code, _ = g.api(t, "DELETE", path, cpAdminToken, nil)
				case 2:
					code, _ = g.api(t, "POST", path+"/credentials", cpAdminToken, map[string]string{"id": fmt.Sprintf("c%d", r.IntN(3))})
				case 3:
					code, _ = g.api(t, "DELETE", path+"/credentials/"+fmt.Sprintf("c%d", r.IntN(3)), cpAdminToken, nil)
				}
				if code >= 500 {
					t.Errorf("%s: HTTP %d", path, code)
				}
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d admin calls, %d commands, %d session failures", calls.Load(), ops.Load(), failures.Load())

	shown := map[string]string{}
	for _, x := range g.must(t, 200, "GET", "/v1/tenants", nil)["tenants"].([]any) {
		m := x.(map[string]any)
		var ids []string
		for _, c := range m["credentials"].([]any) {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		sort.Strings(ids)
		if m["source"] == "store" {
			shown[m["name"].(string)] = strings.Join(ids, ",")
		}
	}
	if strings.Contains(g.Log.String(), "panic") {
		t.Error("a panic in the log")
	}
	g.Stop()
	b, err := store.Open(g.storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, _ := b.Load(context.Background())
	onDisk := map[string]string{}
	for _, tn := range p.Tenants {
		var ids []string
		for _, c := range tn.Credentials {
			ids = append(ids, c.ID)
		}
		sort.Strings(ids)
		onDisk[tn.Name] = strings.Join(ids, ",")
	}
	if fmt.Sprint(onDisk) != fmt.Sprint(shown) {
		t.Fatalf("store on disk %v, API showed %v", onDisk, shown)
	}
}
