#!/usr/bin/env bash
# redis-server, redis-cli, redis-benchmark and openssl for the unit and e2e tests and the demo.
# The Debian package starts a system redis on 6379; tests never use it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need redis-server:redis-server redis-cli:redis-tools redis-benchmark:redis-tools openssl:openssl
redis-server --version
