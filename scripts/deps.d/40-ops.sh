#!/usr/bin/env bash
# The operating kit's checks: promtool (Debian's prometheus package) for
# deploy/prometheus, and headless Chromium for the /ui/ page's browser test.
# The prometheus package may start a local Prometheus; tests never use it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need promtool:prometheus chromium:chromium
promtool --version 2>&1 | head -1
chromium --version
