#!/bin/bash
# Instructions per request of the release server under wrk load, counted
# by callgrind: unlike time, the count barely moves when other work shares
# the machine, so a change worth a few per cent shows in one run.
#
#   benches/load/instructions.sh SERVER METHOD PATH [SERVER ARGS...]
#   benches/load/instructions.sh target/release/casting-server POST /actors
#   benches/load/instructions.sh target/release/casting-server GET '/movies?x=1' --response-cache-bytes 0
#
# Needs valgrind, wrk and curl (apt-get install valgrind wrk curl). Seeds a
# fresh development store with MOVIES movies (default 10) and 20 actors,
# warms up for 5 s, then counts LOAD_SECONDS (default 15) of wrk -c64 load. It
# prints the instructions per request of the whole process, of the tokio
# workers and of the writer thread; the writer's share moves with the batch
# size, which valgrind's slower run changes, so compare workers with
# workers and a writer with one of the same batch size.
set -euo pipefail
server=$(realpath "$1") method=$2 path=$3
shift 3
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
url=http://127.0.0.1:$port

wait_up() {
    for _ in $(seq 300); do
        curl -s -o /dev/null "$url/health" && return 0
        sleep 0.2
    done
    echo "the server did not start" >&2
    exit 1
}

# The development key is made outside valgrind, where RSA key generation
# would take a minute.
"$server" --dev --bind "127.0.0.1:$port" --db "$dir/db.redb" >/dev/null 2>&1 &
pid=$!
wait_up
kill "$pid"
wait "$pid" 2>/dev/null || true

valgrind --tool=callgrind --callgrind-out-file="$dir/out" \
    "$server" --dev --bind "127.0.0.1:$port" --db "$dir/db.redb" "$@" >/dev/null 2>"$dir/err" &
pid=$!
wait_up
token=$("$server" token --role producer --db "$dir/db.redb")
post() {
    curl -s -o /dev/null -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "$2" "$url$1"
}
for i in $(seq "${MOVIES:-10}"); do
    post /movies "{\"title\": \"Movie $i\", \"release\": \"2010-10-$((10 + i % 10))\"}"
done
for i in $(seq 20); do
    post /actors "{\"name\": \"Actor $i\", \"age\": 30, \"gender\": \"Female\"}"
done
cat >"$dir/load.lua" <<LUA
wrk.method = "$method"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
LUA
if [ "$method" = POST ]; then
    echo 'wrk.body = "{\"name\": \"Load Test\", \"age\": 30, \"gender\": \"Female\"}"' >>"$dir/load.lua"
fi
wrk -t1 -c64 -d5s -s "$dir/load.lua" "$url$path" >/dev/null
callgrind_control --zero "$pid" >/dev/null 2>&1
wrk -t1 -c64 -d"${LOAD_SECONDS:-15}s" -s "$dir/load.lua" "$url$path" >"$dir/wrk"
callgrind_control --dump "$pid" >/dev/null 2>&1
requests=$(awk '/requests in/ {print $1}' "$dir/wrk")
if grep -q 'Non-2xx' "$dir/wrk"; then
    echo "some responses were not 2xx:" >&2
    cat "$dir/wrk" >&2
    exit 1
fi
# Only the first match of each pattern is read; the rest of a pipe may break.
set +o pipefail
profile=$(ls "$dir"/out.* | head -n 1)
report=$(callgrind_annotate --inclusive=yes "$profile" 2>/dev/null)
count() { # the inclusive count of the first line matching $1, without commas
    echo "$report" | grep -E "$1" | head -n 1 | awk '{gsub(",", "", $1); print $1}'
}
per() { awk -v n="${1:-0}" -v r="$requests" 'BEGIN {printf "%.1fK", n / r / 1000}'; }
echo "$method $path: $requests requests"
echo "whole process: $(per "$(count 'PROGRAM TOTALS')") instructions per request"
echo "tokio workers: $(per "$(count 'multi_thread::worker::run \[')")"
tree=$(callgrind_annotate --tree=calling --inclusive=yes "$profile" 2>/dev/null)
commits=$(echo "$tree" | grep -oE 'commit_with \([0-9,]+x\)' | head -n 1 | tr -dc '0-9')
echo "writer thread: $(per "$(count 'writer.rs:std::sys::backtrace')") per request, ${commits:-0} commits"
