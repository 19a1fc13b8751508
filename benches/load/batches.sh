#!/bin/bash
# How a server build batches its writes under a mix of reads and writes:
# the load benchmark's mixed scenario, with the store's own counts read from
# /metrics before and after, and the server-side durations by route and of
# the commits themselves.
#
#   benches/load/batches.sh SERVER [SERVER ARGS...]
#   benches/load/batches.sh target/release/casting-server
#   LOAD_WRITE_EVERY=1 LOAD_CONNECTIONS=1 benches/load/batches.sh target/release/casting-server
#
# Needs wrk, curl and taskset. Seeds a fresh development store with 10
# movies and 20 actors, pins the server to core 0 and wrk to core 1, warms
# up for 2 s, then runs LOAD_SECONDS (default 8) of wrk with
# LOAD_CONNECTIONS (default 64) connections, every LOAD_WRITE_EVERY-th
# request (default 10) a POST /actors and the rest GET /movies. It prints
# req/s, p50, p99 and the server's CPU per request; the commits, writes,
# mean batch size and response-cache misses of the measured part; and the
# cumulative count of requests per duration bucket, by route, as the
# server measured them, and of commits per duration bucket (the writer's
# own time in the store, without the wait for more writes; warm-up
# included in both). A write's duration less its commit's is what it spent
# queued behind the commit before, waiting for its batch-mates, and being
# answered. Other load on the machine moves
# every figure: compare builds in interleaved runs.
set -euo pipefail
server=$(realpath "$1")
shift
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 20000))
metrics_port=$((port + 1))
url=http://127.0.0.1:$port

taskset -c 0 "$server" --dev --bind "127.0.0.1:$port" \
    --metrics-bind "127.0.0.1:$metrics_port" --db "$dir/db.redb" "$@" \
    >/dev/null 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "$url/health" && break
    sleep 0.1
done
token=$("$server" token --role producer --db "$dir/db.redb")
post() {
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "$2" "$url$1"
}
for i in $(seq 10); do
    post /movies "{\"title\": \"Movie $i\", \"release\": \"2010-10-$((10 + i))\"}"
done
for i in $(seq 20); do
    post /actors "{\"name\": \"Actor $i\", \"age\": 30, \"gender\": \"Female\", \"movie_id\": $(((i - 1) % 10 + 1))}"
done
cat >"$dir/mixed.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local headers = {}
  headers["Authorization"] = "Bearer $token"
  if n % ${LOAD_WRITE_EVERY:-10} == 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/actors", headers, '{"name": "Load Test", "age": 30, "gender": "Female"}')
  end
  return wrk.format("GET", "/movies", headers, nil)
end
LUA
load() {
    taskset -c 1 wrk -t1 -c"${LOAD_CONNECTIONS:-64}" -d"$1" --latency \
        -s "$dir/mixed.lua" "$url/movies"
}
load 2s >/dev/null
curl -s "http://127.0.0.1:$metrics_port/metrics" >"$dir/before"
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_before=$(cpu)
load "${LOAD_SECONDS:-8}s" >"$dir/wrk"
cpu_after=$(cpu)
curl -s "http://127.0.0.1:$metrics_port/metrics" >"$dir/after"

if grep -q 'Non-2xx' "$dir/wrk"; then
    echo "some responses were not 2xx:" >&2
    cat "$dir/wrk" >&2
    exit 1
fi
requests=$(awk '/requests in/ {print $1}' "$dir/wrk")
ticks=$(getconf CLK_TCK)
metric() { # the value of the sample named $2 in file $1
    awk -v name="$2" '$1 == name {print $2}' "$dir/$1"
}
delta() {
    echo "$(metric after "$1") - $(metric before "$1")" | bc
}
commits=$(delta casting_store_batch_size_count)
writes=$(delta casting_store_batch_size_sum)
awk -v req="$requests" -v cpu="$((cpu_after - cpu_before))" -v ticks="$ticks" \
    -v commits="$commits" -v writes="$writes" \
    -v misses="$(delta casting_response_cache_misses_total)" '
    /Requests\/sec/ {rps = $2}
    $1 == "50%" {p50 = $2}
    $1 == "99%" {p99 = $2}
    END {
        printf "req/s %s  p50 %s  p99 %s  CPU %.1f us/req\n", rps, p50, p99, cpu / ticks * 1e6 / req
        printf "commits %d  writes %d  batch %.1f  cache misses %d\n", commits, writes, writes / commits, misses
    }' "$dir/wrk"
echo "server-side durations, requests at or under each bound (cumulative):"
{
    grep -E '^casting_http_request_duration_seconds_bucket\{le="[^"]*",route="/(movies|actors)"\}' "$dir/after" |
        sed -E 's/^[^{]*\{le="([^"]*)",route="([^"]*)"\} (.*)$/\2 \1 \3/'
    grep -E '^casting_store_commit_duration_seconds_bucket\{le="[^"]*"\}' "$dir/after" |
        sed -E 's/^[^{]*\{le="([^"]*)"\} (.*)$/commit \1 \2/'
} |
    awk '$2 == "+Inf" || $2 + 0 <= 0.0256 {line[$1] = line[$1] "  <=" $2 ":" $3}
        END {for (r in line) print r line[r]}'
