#!/usr/bin/env bash
# Property-based tests of the API from its contract: schemathesis reads api/openapi.json,
# generates valid and invalid requests for every operation and checks each answer against the
# contract. Everything runs on 127.0.0.1: its own DynamoDB Local on a free port, its own
# local-server on a free port with throttles out of the way, credentials from /_local/credentials.
#
#   scripts/schemathesis.sh                     short run for `make test` (30 examples, <= 180 s)
#   scripts/schemathesis.sh --max-examples N    N examples per operation and phase
#   scripts/schemathesis.sh --long              300 examples per operation, <= 900 s
#   scripts/schemathesis.sh --seed N            reproduce a run (the seed is printed)
#   scripts/schemathesis.sh --spec PATH         another copy of the contract (to try an edit)
#   scripts/schemathesis.sh ... -- ARGS         extra arguments for `schemathesis run`
#
# Reports (JUnit XML) and schemathesis's own store (`st replay ID`, run from there) go to
# target/schemathesis/. Stops everything it started, whatever happens.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

max_examples=30
max_time=180
seed="${SCHEMATHESIS_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
spec="$root/api/openapi.json"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --long) max_examples=300; max_time=900; shift ;;
    --max-examples) max_examples="${2:?--max-examples needs a number}"; shift 2 ;;
    --max-examples=*) max_examples="${1#*=}"; shift ;;
    --max-time) max_time="${2:?--max-time needs seconds}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    --spec) spec="$(cd "$(dirname "${2:?--spec needs a path}")" && pwd)/$(basename "$2")"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "schemathesis.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

die() { echo "schemathesis.sh: $*" >&2; exit 1; }

scripts/setup.sh
[[ -x .venv/bin/schemathesis ]] || die ".venv has no schemathesis: requirements-dev.txt must pin it"

work="$(mktemp -d)"
server_pid=""
export DYNAMODB_LOCAL_STATE="$work/dynamodb-local"
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  "$root/scripts/dynamodb-local.sh" stop || true
  if [[ $rc -ne 0 && -s "$work/server.err" ]]; then
    echo "--- local-server log (last 40 lines) ---" >&2
    tail -n 40 "$work/server.err" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> DynamoDB Local"
endpoint="$(scripts/dynamodb-local.sh start 0)"
echo "    $endpoint"

echo "==> local-server"
cargo build -p local-server --locked --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/debug/local-server"
[[ -x "$bin" ]] || die "no local-server binary at $bin"
: >"$work/server.out"; : >"$work/server.err"
# Generous limits: schemathesis is one client sending as fast as it can, and a 429 would only
# hide what the API answers. Throttling has its own tests in local/tests/gateway/.
AWS_ENDPOINT_URL_DYNAMODB="$endpoint" \
  LOCAL_THROTTLE_RATE=100000 LOCAL_THROTTLE_BURST=100000 \
  LOCAL_USAGE_RATE=100000 LOCAL_USAGE_BURST=100000 \
  LOCAL_QUOTA_LIMIT=100000000 LOCAL_NO_METHOD_THROTTLES=1 LOCAL_USER_LIMIT_REQUESTS=1000000 \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" --port 0 --table "items-schemathesis-$$" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
base=""
for _ in $(seq 1 600); do
  base="$(sed -n 's/^local-server listening on //p' "$work/server.out" | head -n 1)"
  [[ -n "$base" ]] && break
  kill -0 "$server_pid" 2>/dev/null || die "local-server exited during start-up: $(cat "$work/server.err")"
  sleep 0.1
done
[[ -n "$base" ]] || die "local-server did not print its URL within 60 s"
[[ "$base" == http://127.0.0.1:* ]] || die "local-server is not on loopback: $base"
echo "    $base"

creds="$(curl -sS --fail --noproxy '*' "$base/_local/credentials?sub=schemathesis")"
token="$(printf '%s' "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["idToken"])')"
api_key="$(printf '%s' "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')"

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,positive_data_acceptance
reports="$root/target/schemathesis"
mkdir -p "$reports"
# positive_data_acceptance expects 2xx/401/403/404/409/429 for a schema-valid request. Three
# answers to schema-valid requests are right here and depend on state the schema cannot express:
#   createItem  422: the generated Idempotency-Key was already used with another body;
#   updateItem, deleteItem  412: a well-formed If-Match that is not the item's version (and 400, below);
#   listItems   400: a cursor matching the pattern that this API never issued (cursors are
#               opaque and tamper-evident; limits are covered by local/tests/gateway/hostile.rs).
#   (listItems' limit bounds, 1-100, are exactly what the server accepts.)
# schemathesis only generates header values of letters and digits, so it can never make a valid
# entity tag (quoted) for If-Match on its own: it gets them from a dictionary instead.
cat >"$work/schemathesis.toml" <<'TOML'
[dictionaries.entity-tags]
values = ['*', '"1"', '"2"', '"3"', '"99"', 'W/"1"', '"1", "2"', '""', '"abc"']

[parameters]
"header.If-Match" = { dictionary = "entity-tags", probability = 1.0 }

[[operations]]
include-operation-id = "createItem"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-operation-id = ["updateItem", "deleteItem"]
# 400 too: the coverage phase ignores dictionaries and sends bare digits as "valid" If-Match
# values, which are not entity tags (schemathesis cannot put a quote in a header). This hides a
# wrongly refused PATCH body from this check; local/tests/gateway/hostile.rs and the core tests
# cover valid PATCH bodies.
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "412", "429"]

[[operations]]
include-operation-id = "listItems"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
TOML
echo "==> schemathesis: $max_examples examples per operation, at most ${max_time} s, seed $seed"
# Nothing but loopback: any request that is not for 127.0.0.1 goes to a proxy that does not
# exist and fails. schemathesis 4 has no telemetry or upload (both left with the 3.x SaaS
# client); the contract has no remote $refs. No example database is kept, and schemathesis's
# replay store (.schemathesis/) lands in target/schemathesis/, not in the repository root.
cd "$reports"
env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
  http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
  NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 \
  "$root/.venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$spec" \
    --url "$base" \
    -H "Authorization: $token" \
    -H "x-api-key: $api_key" \
    --checks "$checks" \
    --max-examples "$max_examples" \
    --max-time "$max_time" \
    --seed "$seed" \
    --workers 1 \
    --generation-database none \
    --generation-with-security-parameters false \
    --request-timeout 35 \
    --no-color \
    --report junit --report-junit-path "$reports/junit.xml" \
    "${extra[@]}"
