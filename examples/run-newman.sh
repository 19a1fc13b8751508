#!/usr/bin/env bash
# Runs the Postman collection with newman, then the curl walkthrough, each
# against a fresh development server on a free port with a temporary
# database, and stops the servers.
#
# Usage: examples/run-newman.sh
#
# Needs cargo, curl, and node with npm: newman is taken from PATH when
# installed (`npm install -g newman@6`), else run with `npx --yes newman@6`.
# CASTING_SERVER_BIN names a built server to use instead of building
# target/debug/casting-server.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CASTING_SERVER_BIN:-}" ]; then
  server_bin=$CASTING_SERVER_BIN
else
  cargo build -q -p casting-server
  server_bin="${CARGO_TARGET_DIR:-target}/debug/casting-server"
fi

if command -v newman > /dev/null; then
  newman=(newman)
else
  newman=(npx --yes newman@6)
fi

work=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME: starts a development server with the database
# $work/NAME.redb and sets URL, ASSISTANT_TOKEN, DIRECTOR_TOKEN,
# PRODUCER_TOKEN and SERVER_PID from what it prints.
start_server() {
  local name=$1 out="$work/$1.out" err="$work/$1.err"
  # A variable of the caller's shell must not change the server under test.
  env -u CASTING_BIND -u CASTING_DB -u CASTING_BODY_LIMIT -u CORS_ORIGINS -u PORT \
    "$server_bin" --dev --bind 127.0.0.1:0 --db "$work/$name.redb" > "$out" 2> "$err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q '^listening on ' "$out" && break
    if ! kill -0 "$SERVER_PID" 2> /dev/null; then
      echo "the server exited before listening:" >&2
      cat "$err" >&2
      exit 1
    fi
    sleep 0.1
  done
  URL=$(sed -n 's/^listening on //p' "$out")
  ASSISTANT_TOKEN=$(sed -n 's/^token for assistant: //p' "$out")
  DIRECTOR_TOKEN=$(sed -n 's/^token for director: //p' "$out")
  PRODUCER_TOKEN=$(sed -n 's/^token for producer: //p' "$out")
  if [ -z "$URL" ] || [ -z "$ASSISTANT_TOKEN" ] || [ -z "$DIRECTOR_TOKEN" ] || [ -z "$PRODUCER_TOKEN" ]; then
    echo "the server did not print its address and tokens:" >&2
    cat "$out" "$err" >&2
    exit 1
  fi
}

# stop_server: SIGTERM, and the server must exit cleanly.
stop_server() {
  local pid=$SERVER_PID
  SERVER_PID=
  kill -TERM "$pid"
  wait "$pid"
}

start_server newman
echo "== newman against $URL"
"${newman[@]}" run examples/casting-agency.postman_collection.json \
  --env-var "base_url=$URL" \
  --env-var "assistant_token=$ASSISTANT_TOKEN" \
  --env-var "director_token=$DIRECTOR_TOKEN" \
  --env-var "producer_token=$PRODUCER_TOKEN" \
  --bail
stop_server

start_server curl
echo "== curl.sh against $URL"
ASSISTANT_TOKEN=$ASSISTANT_TOKEN DIRECTOR_TOKEN=$DIRECTOR_TOKEN PRODUCER_TOKEN=$PRODUCER_TOKEN \
  examples/curl.sh "$URL"
stop_server

echo "newman and curl.sh passed"
