package config

import (
	"strings"
	"testing"
)

const brokerBase = `
listen: [{address: 127.0.0.1:6380}]
store: {path: /var/lib/redoubt/redoubt.db}
upstreams:
  shared-a: {address: 127.0.0.1:6379}
broker:
  address: 127.0.0.1:9131
  username: broker
  password_env: BROKER_PASSWORD
  endpoint: {host: redis.example.com, port: 6380, tls: true}
  services:
    - name: redis
      id: 8c8ad7c6-0000-4000-8000-000000000001
      plans:
        - {name: shared, id: 8c8ad7c6-0000-4000-8000-000000000002, kind: shared, upstreams: [shared-a]}
        - {name: dedicated-small, id: 8c8ad7c6-0000-4000-8000-000000000003, kind: elasticache,
           node_type: cache.t4g.small, engine_version: "7.1", shards: 1, replicas: 1, region: eu-west-1,
           subnet_group: redis, security_group_ids: [sg-1], iam_user: redoubt, user_group_id: redoubt-iam,
           automatic_failover_enabled: true, multi_az_enabled: true, snapshot_retention_limit: 7,
           parameters: {maxmemory-policy: allkeys-lru}}
`

func TestBrokerConfig(t *testing.T) {
	env := fakeEnv{"BROKER_PASSWORD": "secret-broker-password"}
	c, err := Parse([]byte(brokerBase), env.lookup)
	if err != nil {
		t.Fatalf("valid broker config refused: %v", err)
	}
	if c.Broker.Password != "secret-broker-password" || c.BrokerStatePath() != "/var/lib/redoubt/redoubt.db.broker" {
		t.Fatalf("resolved: %q %q", c.Broker.Password, c.BrokerStatePath())
	}
	if p := c.Broker.Services[0].Plans[1]; p.ShardTotal() != 1 || p.ReplicaTotal() != 1 {
		t.Fatalf("plan sizes: %d %d", p.ShardTotal(), p.ReplicaTotal())
	}

	tests := []struct {
		desc, from, to, path, msg string
		env                       fakeEnv
	}{
		{desc: "no store", from: "store: {path: /var/lib/redoubt/redoubt.db}\n", to: "", path: "broker", msg: "needs store.path"},
		{desc: "state in the store file", from: "  username: broker\n", to: "  username: broker\n  state_path: /var/lib/redoubt/redoubt.db\n", path: "broker.state_path", msg: "differ"},
		{desc: "password unset", env: fakeEnv{}, path: "broker.password_env", msg: "BROKER_PASSWORD"},
		{desc: "no username", from: "username: broker", to: "username: \"\"", path: "broker.username", msg: "required"},
		{desc: "bad address", from: "address: 127.0.0.1:9131", to: "address: nowhere", path: "broker.address", msg: ""},
		{desc: "no endpoint host", from: "host: redis.example.com, ", to: "", path: "broker.endpoint.host", msg: "required"},
		{desc: "bad endpoint port", from: "port: 6380, tls", to: "port: 0, tls", path: "broker.endpoint.port", msg: "1-65535"},
		{desc: "duplicate id", from: "000000000003", to: "000000000002", path: "broker.services[0].plans[1].id", msg: "duplicate"},
		{desc: "unknown kind", from: "kind: shared", to: "kind: dedicated", path: "broker.services[0].plans[0].kind", msg: "shared or elasticache"},
		{desc: "unknown upstream", from: "upstreams: [shared-a]", to: "upstreams: [shared-b]", path: "broker.services[0].plans[0].upstreams[0]", msg: "shared-b"},
		{desc: "no node type", from: "node_type: cache.t4g.small, ", to: "", path: "broker.services[0].plans[1].node_type", msg: "required"},
		{desc: "cluster mode", from: "shards: 1", to: "shards: 3", path: "broker.services[0].plans[1].shard_count", msg: "cluster"},
		{desc: "failover without replicas", from: "replicas: 1", to: "replicas: 0", path: "broker.services[0].plans[1].automatic_failover_enabled", msg: "replica"},
		{desc: "retention too long", from: "limit: 7", to: "limit: 90", path: "broker.services[0].plans[1].snapshot_retention_limit", msg: "0-35"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			y := brokerBase
			if tc.from != "" || tc.to != "" {
				if !strings.Contains(y, tc.from) {
					t.Fatalf("base lacks %q", tc.from)
				}
				y = strings.Replace(y, tc.from, tc.to, 1)
			}
			e := env
			if tc.env != nil {
				e = tc.env
			}
			_, err := Parse([]byte(y), e.lookup)
			found := false
			for _, l := range errLines(err) {
				if strings.HasPrefix(l, tc.path+": ") && strings.Contains(l, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s: ...%s..., got %v", tc.path, tc.msg, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret-broker-password") {
				t.Error("an error shows the broker password")
			}
		})
	}
}
