#!/usr/bin/env bash
# What the third-party suites of docs/compatibility.md need (not part of make test).
set -euo pipefail
. "$(dirname "$0")/../deps.d/lib.sh"
need redis-server:redis-server redis-cli:redis-tools tclsh:tcl
/usr/bin/python3 -c 'import redis, pytest, pytest_asyncio' 2>/dev/null ||
	need _no_such_command_:"python3-redis python3-pytest python3-pytest-asyncio"
