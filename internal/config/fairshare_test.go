package config

import (
	"strings"
	"testing"

	"github.com/redoubt-proxy/redoubt/internal/model"
)

const fairBase = `
listen: [{address: 127.0.0.1:6380}]
upstreams:
  shared: {address: 127.0.0.1:6379}
  own: {address: 127.0.0.1:6390}
  solo: {address: 127.0.0.1:6391}
limits: {tenant_defaults: {max_ops_per_second: 1000, max_keys: 50}}
tenants:
  - {name: noisy, secret_env: S, upstream: shared, db: 5, max_ops_per_second: 2000, max_bytes_per_second: 10485760,
     max_request_bytes: 8388608, max_value_bytes: 1048576, max_offset: 1048576, max_keys: 100000, max_memory_bytes: 268435456}
  - {name: quiet, secret_env: S, upstream: shared, db: 6}
  - {name: exempt, secret_env: S, upstream: shared, db: 7, max_ops_per_second: 0}
  - {name: nodb, secret_env: S, upstream: solo, role: readwrite}
  - {name: owner, secret_env: S, upstream: own, role: full}
`

func env(string) (string, bool) { return "0123456789abcdef0123456789abcdef", true }

func TestEffectiveLimits(t *testing.T) {
	c, err := Parse([]byte(fairBase), env)
	if err != nil {
		t.Fatal(err)
	}
	// The limits reach the runtime through the file's part of the model.
	snap := model.Merge([]model.SourcePart{{Source: model.SourceFile, Part: c.Part()}}, model.Checks{})
	if len(snap.Problems) > 0 || len(snap.Tenants) != len(c.Tenants) {
		t.Fatalf("merge: %v", snap.Problems)
	}
	want := []model.EffectiveLimits{
		{OpsPerSecond: 2000, BytesPerSecond: 10485760, RequestBytes: 8388608, ValueBytes: 1048576, Offset: 1048576, Keys: 100000, MemoryBytes: 268435456},
		{OpsPerSecond: 1000, Keys: 50},
		{Keys: 50},
		{OpsPerSecond: 1000}, // quotas need a db
		{},                   // pass-through: nothing could enforce them
	}
	for i, w := range want {
		if got := snap.EffectiveLimits(&snap.Tenants[i]); got != w {
			t.Errorf("%s: got %+v, want %+v", c.Tenants[i].Name, got, w)
		}
	}
	if c.Limits.ThrottleMaxDelay.D() != DefaultThrottleMaxDelay || c.Limits.QuotaInterval.D() != DefaultQuotaInterval {
		t.Errorf("defaults: %+v", c.Limits)
	}
}

func TestFairShareValidation(t *testing.T) {
	tests := []struct{ desc, replace, with, want string }{
		{"negative tenant limit", "max_offset: 1048576", "max_offset: -1", "tenants[0].max_offset: must not be negative"},
		{"negative default", "max_keys: 50}", "max_keys: -5}", "limits.tenant_defaults.max_keys: must not be negative"},
		{"limits on a pass-through tenant", "upstream: own, role: full}", "upstream: own, role: full, max_ops_per_second: 5}", "tenants[4]: fair-sharing limits"},
		{"quota without db", "upstream: solo, role: readwrite}", "upstream: solo, role: readwrite, max_keys: 5}", "tenants[3]: max_keys and max_memory_bytes are quotas of a DB-pinned tenant"},
		{"typo", "max_ops_per_second: 0}", "max_op_per_second: 0}", `did you mean "max_ops_per_second"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			y := strings.Replace(fairBase, tc.replace, tc.with, 1)
			if y == fairBase {
				t.Fatal("replacement did not apply")
			}
			_, err := Parse([]byte(y), env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
