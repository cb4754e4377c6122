#!/usr/bin/env bash
# Real applications for the e2e tests in test/e2e/apps_test.go: Celery, RQ and
# redis-py (Debian python3 packages), Sidekiq (Debian ruby-sidekiq), and
# BullMQ with ioredis from npm into test/apps/node_modules (git-ignored).
# A test whose package cannot be had here skips with a loud message.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
warn() { echo "WARNING: $*; the app tests that need it will skip (loudly)" >&2; }
need node:nodejs npm:npm ruby:ruby sidekiq:ruby-sidekiq || warn "could not install node, npm, ruby or ruby-sidekiq"
# The Python modules are checked with Debian's python3, which the tests use
# (a python3 earlier on PATH, e.g. pyenv's, would not see them).
missing=""
for m in redis:python3-redis celery:python3-celery rq:python3-rq pytest:python3-pytest pytest_asyncio:python3-pytest-asyncio; do
	/usr/bin/python3 -c "import ${m%%:*}" >/dev/null 2>&1 || missing="$missing ${m#*:}"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	sudo=""
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi
	[ -n "${REDOUBT_APT_UPDATED:-}" ] || $sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null || warn "could not install$missing"
fi
dir="$(cd "$(dirname "$0")/../../test/apps" && pwd)"
if [ ! -d "$dir/node_modules/bullmq" ] || [ ! -d "$dir/node_modules/ioredis" ]; then
	echo "installing bullmq and ioredis into $dir/node_modules"
	(cd "$dir" && npm install --no-audit --no-fund --loglevel=error) || warn "npm install of bullmq and ioredis failed"
fi
