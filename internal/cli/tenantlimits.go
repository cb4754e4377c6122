package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/redoubt-proxy/redoubt/internal/admin"
)

// limitFlags adds the fair-sharing limits to `tenant put` as
// --max-ops-per-second and so on, one per max_* key. The returned func
// sets, in l, only the flags given: a flag left out keeps the default
// (limits.tenant_defaults), and --max-keys 0 exempts the tenant from it.
func limitFlags(fs *pflag.FlagSet, l *admin.LimitsJSON) (apply func()) {
	fields := []struct {
		key string
		dst **int64
	}{
		{"max_ops_per_second", &l.MaxOpsPerSecond}, {"max_bytes_per_second", &l.MaxBytesPerSecond},
		{"max_request_bytes", &l.MaxRequestBytes}, {"max_value_bytes", &l.MaxValueBytes},
		{"max_offset", &l.MaxOffset}, {"max_keys", &l.MaxKeys}, {"max_memory_bytes", &l.MaxMemoryBytes},
	}
	vals := make([]int64, len(fields))
	for i, f := range fields {
		fs.Int64Var(&vals[i], strings.ReplaceAll(f.key, "_", "-"), 0, "fair-sharing limit "+f.key+" (0 = unlimited; absent = the default)")
	}
	return func() {
		for i, f := range fields {
			if fs.Changed(strings.ReplaceAll(f.key, "_", "-")) {
				v := vals[i]
				*f.dst = &v
			}
		}
	}
}
