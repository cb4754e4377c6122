package config

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// DefaultClientQueryBufferLimit is redis-server's client-query-buffer-limit.
const DefaultClientQueryBufferLimit = 1 << 30

// minRequestMemoryBudget is the smallest default budget, for tiny machines:
// room for one request of redis-server's largest bulk (512 MiB) would be
// too much there, 64 MiB is not.
const minRequestMemoryBudget = 64 << 20

// DefaultRequestMemoryBudget is a quarter of the memory this process may
// use: its cgroup's limit (v2 memory.max or v1 memory.limit_in_bytes) when
// one is set, else the machine's memory; 1 GiB when neither can be read.
func DefaultRequestMemoryBudget() int64 {
	mem := AvailableMemory()
	if mem <= 0 {
		return 1 << 30
	}
	return max(mem/4, minRequestMemoryBudget)
}

// AvailableMemory returns the memory limit of the process's cgroup, or the
// machine's total memory, in bytes; 0 when unknown.
func AvailableMemory() int64 {
	total := memTotal()
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		// "max" (v2) or a huge number (v1) means no limit.
		if err == nil && n > 0 && (total == 0 || n < total) {
			return n
		}
	}
	return total
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
