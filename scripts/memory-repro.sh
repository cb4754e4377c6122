#!/usr/bin/env bash
# memory-repro.sh: the inspecting relay's memory reproductions at full
# scale (a client that never reads 200 MB of PING replies; BLPOP then
# 100 MB of refused commands; four 400 MB partial requests), with
# redoubt's RSS, a neighbour tenant's slowest request, and the RSS after
# the sessions end. Needs redis-server. Takes about two minutes.
#
#   scripts/memory-repro.sh [-budget BYTES] [-scale FRACTION]
#
# -budget sets limits.request_memory_budget (default 1 GiB); -scale sends
# a fraction of the sizes (0.1 for a quick look).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/redoubt ./cmd/redoubt
exec go run ./bench/cmd/memrepro -redoubt bin/redoubt "$@"
