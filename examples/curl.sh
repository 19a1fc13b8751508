#!/usr/bin/env bash
# The curl walkthrough of every route of the casting agency API, as each
# role where it matters, stopping at the first answer that is not the one
# the API reference (docs/api.md) promises.
#
# Usage: examples/curl.sh [BASE_URL]
#
#   BASE_URL   the server (default: $CASTING_URL, else http://127.0.0.1:8080)
#
# Tokens come from ASSISTANT_TOKEN, DIRECTOR_TOKEN and PRODUCER_TOKEN when
# set; otherwise from `cargo run -q -p casting-server -- token --role ROLE
# --db "$CASTING_DB"` (default casting.redb), which signs with the key of a
# development server started on that same database:
#
#   cargo run -p casting-server -- --dev &
#   examples/curl.sh
#
# It needs only bash and curl. It creates a movie and an actor, changes
# them and deletes them again, so it can run against a server in use.
set -euo pipefail

BASE_URL=${1:-${CASTING_URL:-http://127.0.0.1:8080}}
BASE_URL=${BASE_URL%/}
DB=${CASTING_DB:-casting.redb}

token_for() {
  local role=$1 variable
  variable="$(echo "$role" | tr '[:lower:]' '[:upper:]')_TOKEN"
  if [ -n "${!variable:-}" ]; then
    printf '%s' "${!variable}"
  else
    cargo run -q -p casting-server -- token --role "$role" --db "$DB"
  fi
}

ASSISTANT=$(token_for assistant)
DIRECTOR=$(token_for director)
PRODUCER=$(token_for producer)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BODY="$work/body"
HEADERS="$work/headers"

# Who the next requests act as: a role, `nobody` (no Authorization header)
# or `garbage` (a header that holds no JWT).
ROLE=nobody
as() { ROLE=$1; }

# Content type of request bodies; overridden per call for the 415.
CONTENT_TYPE=application/json

fail() {
  echo "FAILED: $*" >&2
  echo "--- response headers" >&2
  cat "$HEADERS" >&2 2>/dev/null || true
  echo "--- response body" >&2
  head -c 2000 "$BODY" >&2 2>/dev/null || true
  echo >&2
  exit 1
}

# expect STATUS METHOD PATH [BODY]: sends the request as $ROLE and fails
# unless the answer has STATUS.
expect() {
  local want=$1 method=$2 path=$3 data=${4-} status
  local args=(-s -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$method")
  case $ROLE in
    nobody) ;;
    garbage) args+=(-H 'Authorization: Bearer not-a-jwt') ;;
    assistant) args+=(-H "Authorization: Bearer $ASSISTANT") ;;
    director) args+=(-H "Authorization: Bearer $DIRECTOR") ;;
    producer) args+=(-H "Authorization: Bearer $PRODUCER") ;;
    *) echo "unknown role $ROLE" >&2; exit 2 ;;
  esac
  if [ $# -ge 4 ]; then
    args+=(-H "Content-Type: $CONTENT_TYPE" --data-binary "$data")
  fi
  status=$(curl "${args[@]}" "$BASE_URL$path") || fail "$method $path: curl could not reach $BASE_URL"
  printf '%-4s %-6s %-46s as %-9s -> %s\n' "$([ "$status" = "$want" ] && echo ok || echo BAD)" \
    "$method" "$path" "$ROLE" "$status"
  [ "$status" = "$want" ] || fail "$method $path as $ROLE: expected $want, got $status"
}

# has TEXT: fails unless the last body contains TEXT (the server writes
# compact JSON, so `"key":value` matches).
has() {
  grep -qF -- "$1" "$BODY" || fail "the body lacks $1"
}

# The id at the end of the last answer's Location header.
location_id() {
  tr -d '\r' < "$HEADERS" | sed -n 's|^[Ll]ocation: */[a-z]*/\([0-9]*\)$|\1|p'
}

echo "== public routes"
as nobody
expect 200 GET /health
has '"status":"ok"'
expect 200 GET /openapi.json
has '"openapi'

echo "== authentication"
expect 401 GET /movies
has '"code":"authorization_header_missing"'
as garbage
expect 401 GET /movies
has '"code":"invalid_header"'

echo "== movies"
as assistant
expect 403 POST /movies '{"title": "Universe", "release": "2010-10-13"}'
has '"code":"permission_denied"'
as director
expect 403 POST /movies '{"title": "Universe", "release": "2010-10-13"}'
as producer
expect 200 POST /movies '{"title": "Universe", "release": "2010-10-13"}'
has '"message":"movie added successfully"'
has '"release_date":"Wed, 13 Oct 2010 00:00:00 GMT"'
MOVIE=$(location_id)
[ -n "$MOVIE" ] || fail "no Location header naming the new movie"
expect 422 POST /movies '{"title": "   ", "release": "2010-10-13"}'
has '"code":"unprocessable"'
has '"message":"title: '
expect 422 POST /movies '{"title": "Universe"}'
has '"message":"release: '

as assistant
expect 200 GET /movies
has '"Total number of movies":'
expect 200 GET '/movies?limit=1'
has '"next":'
expect 200 GET "/movies/$MOVIE"
has "\"id\":$MOVIE"
expect 200 GET '/movies/search?q=univ&released_after=2000-01-01'
has '"total":'
expect 403 PATCH "/movies/$MOVIE" '{"title": "Multiverse"}'
as director
expect 200 PATCH "/movies/$MOVIE" '{"title": "Multiverse"}'
has '"movie changed to ":{'
has '"title":"Multiverse"'

echo "== actors"
as assistant
expect 403 POST /actors '{"name": "Robert Downey Jr", "age": 44, "gender": "Male"}'
as director
expect 200 POST /actors "{\"name\": \"Robert Downey Jr\", \"age\": 44, \"gender\": \"Male\", \"movie_id\": $MOVIE}"
has '"message":"actor added successfully"'
ACTOR=$(location_id)
[ -n "$ACTOR" ] || fail "no Location header naming the new actor"
expect 422 POST /actors '{"name": "Old", "age": 200, "gender": "Male"}'
has '"message":"age: '
expect 422 POST /actors '{"name": "Nobody", "age": 30, "gender": "Female", "movie_id": 999999999}'
has '"message":"movie_id: '

as assistant
expect 200 GET /actors
has '"All Actors":'
has '"Total number of actors":'
expect 200 GET "/actors/$ACTOR"
has "\"movie_id\":$MOVIE"
expect 200 GET "/movies/$MOVIE"
has "\"actors\":[$ACTOR]"
expect 200 GET "/actors/search?q=downey&gender=male&min_age=40&max_age=50&movie_id=$MOVIE"
has '"total":1'

as director
expect 200 PATCH "/actors/$ACTOR" '{"age": 45, "movie_id": null}'
has '"actor changed to ":{'
has '"movie_id":null'
expect 422 PATCH "/actors/$ACTOR" '{}'
has '"message":"body: '

echo "== other errors"
as assistant
expect 404 GET /movies/999999999
has '"code":"not_found"'
expect 404 GET /nowhere
expect 400 GET '/movies?limit=0'
has '"code":"bad_request"'
expect 405 PUT /movies '{}'
has '"code":"method_not_allowed"'
as producer
expect 400 POST /movies '{"title": '
CONTENT_TYPE=text/plain expect 415 POST /movies '{"title": "Universe", "release": "2010-10-13"}'
has '"code":"unsupported_media_type"'

echo "== deletes"
as assistant
expect 403 DELETE "/actors/$ACTOR"
as director
expect 200 DELETE "/actors/$ACTOR"
has "\"deleted\":$ACTOR"
expect 404 GET "/actors/$ACTOR"
expect 403 DELETE "/movies/$MOVIE"
as producer
expect 200 DELETE "/movies/$MOVIE"
has "\"deleted\":$MOVIE"
expect 404 DELETE "/movies/$MOVIE"

echo "every answer was the one the contract promises"
