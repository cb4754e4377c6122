#!/usr/bin/env bash
# make demo: a throwaway redis-server, redoubt in front of it (plain and TLS
# listeners, a self-signed certificate made now), two demo tenants, and
# redis-cli going through. Runs until Ctrl-C, then cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/redoubt}
DIR=$(mktemp -d -t redoubt-demo.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$DIR"
	echo "demo stopped, $DIR removed"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || shuf -i 20000-60000 -n 1; }
REDIS_PORT=$(free_port); PLAIN_PORT=$(free_port); TLS_PORT=$(free_port); ADMIN_PORT=$(free_port)

echo "== starting redis-server on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" \
	--logfile "$DIR/redis.log" --daemonize no &
PIDS+=($!)

echo "== making a self-signed certificate for the TLS listener"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$DIR/server-key.pem" -out "$DIR/server.pem" 2>/dev/null

# Demo secrets: random per run, passed through the environment.
export DEMO_APP_SECRET="app-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export DEMO_RO_SECRET="ro-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export REDOUBT_ADMIN_TOKEN="admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > "$DIR/redoubt.yaml" <<YAML
listen:
  - address: 127.0.0.1:$PLAIN_PORT
  - address: 127.0.0.1:$TLS_PORT
    tls: {cert_file: $DIR/server.pem, key_file: $DIR/server-key.pem}
admin: {address: 127.0.0.1:$ADMIN_PORT, token_env: REDOUBT_ADMIN_TOKEN}
store: {path: $DIR/redoubt.db}
upstreams:
  main: {address: 127.0.0.1:$REDIS_PORT}
tenants:
  # viewer reads app's data on purpose: both opt in to sharing DB 1
  - {name: app, secret_env: DEMO_APP_SECRET, upstream: main, db: 1, role: readwrite, share_db: true}
  - {name: viewer, secret_env: DEMO_RO_SECRET, upstream: main, db: 1, role: readonly, share_db: true}
YAML
"$BIN" check --config "$DIR/redoubt.yaml"
echo "== starting redoubt"
"$BIN" serve --config "$DIR/redoubt.yaml" 2> "$DIR/redoubt.log" &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$PLAIN_PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done

run() { echo "\$ $*"; "$@" 2>&1 | sed 's/^/  /'; }
CLI=(redis-cli -p "$PLAIN_PORT" --no-auth-warning)
echo
echo "== a client going through redoubt (tenant 'app', pinned to DB 1 on the shared redis)"
run "${CLI[@]}" PING
run "${CLI[@]}" --user app --pass "$DEMO_APP_SECRET" SET greeting "hello through redoubt"
run "${CLI[@]}" --user app --pass "$DEMO_APP_SECRET" GET greeting
run "${CLI[@]}" --user app --pass "$DEMO_APP_SECRET" SELECT 0
run "${CLI[@]}" --user app --pass "$DEMO_APP_SECRET" FLUSHALL
echo "== the read-only tenant"
run "${CLI[@]}" --user viewer --pass "$DEMO_RO_SECRET" GET greeting
run "${CLI[@]}" --user viewer --pass "$DEMO_RO_SECRET" DEL greeting
echo "== over TLS"
run redis-cli -p "$TLS_PORT" --tls --cacert "$DIR/server.pem" --no-auth-warning --user app --pass "$DEMO_APP_SECRET" GET greeting
echo "== what redis itself sees (DB 1 holds the key, DB 0 is empty)"
run redis-cli -p "$REDIS_PORT" INFO keyspace
echo "== a tenant and a credential made at run time, through the admin API"
export REDOUBT_ADMIN="http://127.0.0.1:$ADMIN_PORT"
run "$BIN" tenant put billing --upstream main --db 7
ISSUED=$("$BIN" credential issue billing --id demo --ttl 1h --json)
BILLING_SECRET=$(printf '%s' "$ISSUED" | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
echo "  credential demo of tenant billing issued (its secret is shown once; kept in \$BILLING_SECRET)"
run "${CLI[@]}" --user billing --pass "$BILLING_SECRET" SET invoice 42
run "$BIN" tenant list
run "$BIN" credential revoke billing demo
run "${CLI[@]}" --user billing --pass "$BILLING_SECRET" GET invoice
echo "== metrics: curl -s 127.0.0.1:$ADMIN_PORT/metrics | grep ^redoubt_"
curl -s "127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null | grep '^redoubt_' | head -8 | sed 's/^/  /' || true
cat <<MSG

redoubt is running. Try it yourself:
  export DEMO_APP_SECRET=$DEMO_APP_SECRET
  redis-cli -p $PLAIN_PORT --user app --pass \$DEMO_APP_SECRET
  redis-cli -p $TLS_PORT --tls --cacert $DIR/server.pem --user app --pass \$DEMO_APP_SECRET
  export REDOUBT_ADMIN_TOKEN=$REDOUBT_ADMIN_TOKEN REDOUBT_ADMIN=http://127.0.0.1:$ADMIN_PORT
  $BIN tenant list; $BIN credential issue billing --ttl 8h   (the admin API)
  curl -s -H "Authorization: Bearer \$REDOUBT_ADMIN_TOKEN" 127.0.0.1:$ADMIN_PORT/v1/sessions
  tail -f $DIR/redoubt.log                    (audit events, never a secret)
Press Ctrl-C to stop and clean up.
MSG
if [ -n "${DEMO_NONINTERACTIVE:-}" ]; then exit 0; fi
wait
