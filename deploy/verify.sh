#!/usr/bin/env bash
# Checks deploy/casting.service with systemd-analyze verify, against the
# binary this checkout builds (systemd-analyze wants ExecStart to exist).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v systemd-analyze >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq systemd >/dev/null
fi
cargo build -q -p casting-server
target=${CARGO_TARGET_DIR:-target}
binary=$(realpath "$target/debug/casting-server")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^ExecStart=/usr/local/bin/casting-server|ExecStart=$binary|" deploy/casting.service > "$work/casting.service"
grep -q "^ExecStart=$binary\$" "$work/casting.service" || { echo "deploy/casting.service has no ExecStart=/usr/local/bin/casting-server" >&2; exit 1; }
# verify prints problems it finds but may still exit 0: treat any output
# about the unit as a failure.
output=$(systemd-analyze verify "$work/casting.service" 2>&1 || true)
problems=$(printf '%s\n' "$output" | grep -F "casting.service" || true)
if [ -n "$problems" ]; then
  printf '%s\n' "$output" >&2
  exit 1
fi
echo "deploy/casting.service: systemd-analyze verify found nothing to complain about"
