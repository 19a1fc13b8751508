#!/usr/bin/env bash
# Schemathesis against the server's own /openapi.json: a development server on
# a free port and a fresh database, every route driven with the producer's
# token, a fixed seed and a bounded number of examples (about a minute here).
# It passes when no answer is a 5xx and every answer conforms to the document.
#
# Usage: casting-server/tests/schemathesis.sh [extra `st run` options]
# Needs python3 with venv; schemathesis is installed, pinned, into
# target/schemathesis-$VERSION on first use. Set SCHEMATHESIS_SEED or
# SCHEMATHESIS_EXAMPLES to explore further.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

version=4.32.5
seed="${SCHEMATHESIS_SEED:-20261129}"
examples="${SCHEMATHESIS_EXAMPLES:-100}"

# The checks that match the contract, and why each other one is left out:
#   not_a_server_error            no 5xx, whatever the input
#   status_code_conformance       every status is one the document lists
#   content_type_conformance      every body has the documented media type
#   response_headers_conformance  documented headers (Location, Allow,
#                                 WWW-Authenticate) are there and well-formed
#   response_schema_conformance   every body matches its documented schema
#   negative_data_rejection       input the document forbids is a 4xx
#   unsupported_method            an undocumented method is a 405 (with Allow)
#   allow_header_conformance      a 405's Allow lists the documented methods
#   missing_required_header       no Authorization header is a 401
#   ignored_auth                  a route that needs a token refuses none or a bad one
#   use_after_free, ensure_resource_availability
#                                 a deleted record is gone, a created one is there
# Left out:
#   positive_data_acceptance      expects every schema-valid input to succeed, but
#                                 the server refuses some that no schema can rule out: a
#                                 movie_id naming no movie is a 422, an id or a page
#                                 cursor past u64 is a 404 or 400. It also fails
#                                 where openapi.json is looser than the server (see
#                                 the report that came with this script).
#   object_level_authorization    needs two principals with data of their own;
#                                 here every token sees every record by design.
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_headers_conformance,response_schema_conformance
checks+=,negative_data_rejection,unsupported_method,allow_header_conformance
checks+=,missing_required_header,ignored_auth,use_after_free
checks+=,ensure_resource_availability

venv="$root/target/schemathesis-$version"
if [ ! -x "$venv/bin/st" ]; then
  echo "+ installing schemathesis $version into $venv"
  python3 -m venv "$venv" || {
    echo "python3 -m venv failed: install python3-venv" >&2
    exit 1
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$version"
fi

# shellcheck source=dev_server.sh
. "$root/casting-server/tests/dev_server.sh"
start_dev_server

echo "+ schemathesis $version against $addr/openapi.json (seed $seed, $examples examples)"
status=0
# From the scratch directory: schemathesis keeps its caches in the working
# directory. One worker, so that the seed replays the same run.
(cd "$work" && "$venv/bin/st" run "$addr/openapi.json" --url "$addr" \
  --header "Authorization: Bearer $token" \
  --checks "$checks" --seed "$seed" --max-examples "$examples" --workers 1 \
  --no-color "$@") || status=$?

kill -TERM "$server_pid"
exit_status=0
wait "$server_pid" || exit_status=$?
server_pid=
if [ "$exit_status" -ne 0 ]; then
  echo "the server exited with $exit_status on SIGTERM" >&2
  tail -20 "$work/err" >&2
  exit 1
fi
if grep -q 'panicked' "$work/err"; then
  echo "the server panicked:" >&2
  grep -A5 'panicked' "$work/err" >&2
  exit 1
fi
exit "$status"
