#!/usr/bin/env bash
# The API reference page in a real browser: a development server on a free
# port and a fresh database, its /docs page opened in headless Chromium by
# docs_page.cjs. It passes when the page renders every route of the server's
# /openapi.json, logs no console error, asks no other origin for anything,
# and its screenshot is not blank.
#
# Usage: casting-server/tests/docs_page.sh [SCREENSHOT.png]
#   SCREENSHOT  where to keep the screenshot (default: target/docs-page.png)
#
# Needs node 18 or later. Chromium, node and npm are installed with apt-get
# when missing (as root), and playwright-core, pinned, into
# target/docs-page-$VERSION on first use.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

version=1.65.1
target="${CARGO_TARGET_DIR:-$root/target}"
screenshot="${1:-$target/docs-page.png}"

# What is missing is installed from Debian's packages, after one update of
# the package lists (a fresh machine has none).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "+ apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

modules="$target/docs-page-$version"
if [ ! -d "$modules/node_modules/playwright-core" ]; then
  echo "+ installing playwright-core $version into $modules"
  mkdir -p "$modules"
  npm install --prefix "$modules" --no-save --no-fund --no-audit --silent \
    "playwright-core@$version"
fi

# shellcheck source=dev_server.sh
. "$root/casting-server/tests/dev_server.sh"
start_dev_server

echo "+ $addr/docs in headless $(chromium --version 2>/dev/null | head -1)"
mkdir -p "$(dirname "$screenshot")"
status=0
# Chromium keeps its profile in a scratch directory, removed with the rest.
HOME="$work" PLAYWRIGHT_CORE="$modules/node_modules/playwright-core" \
  CHROMIUM="$(command -v chromium)" \
  node "$root/casting-server/tests/docs_page.cjs" "$addr" "$screenshot" || status=$?

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=
exit "$status"
