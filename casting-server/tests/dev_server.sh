# Sourced by the scripts that test a running server (docs_page.sh,
# schemathesis.sh): builds casting-server and starts it in development mode
# on a free port with a fresh database in a scratch directory, which is
# removed, and the server stopped, when the script exits.
#
# After `start_dev_server`: $work (the scratch directory), $addr
# (http://HOST:PORT) and $token (a producer token).
start_dev_server() {
  cargo build -q -p casting-server
  work=$(mktemp -d)
  server_pid=
  trap 'if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
  "${CARGO_TARGET_DIR:-$root/target}/debug/casting-server" --dev --bind 127.0.0.1:0 \
    --db "$work/casting.redb" > "$work/out" 2> "$work/err" &
  server_pid=$!
  for _ in $(seq 1 200); do
    grep -q '^listening on ' "$work/out" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.1
  done
  addr=$(sed -n 's/^listening on //p' "$work/out")
  token=$(sed -n 's/^token for producer: //p' "$work/out")
  if [ -z "$addr" ] || [ -z "$token" ]; then
    echo "the server did not start" >&2
    cat "$work/err" >&2
    exit 1
  fi
}
