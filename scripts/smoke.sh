#!/usr/bin/env bash
# Per-function smoke test over real HTTP, with curl: create, get, list, update (If-Match),
# delete, then get -> 404, plus one negative case per function. Prints a table and exits 0 only
# if every check passed.
#
#   scripts/smoke.sh [BASE_URL] [--only FUNCTION] [--id-token T] [--api-key K] [--sub NAME]
#
# BASE_URL (argument or $BASE_URL; default http://127.0.0.1:3000) is what comes before /v1:
# the local server's URL, or a deployed stage's invoke URL such as
# https://abc123.execute-api.eu-west-1.amazonaws.com/prod.
# Credentials: --id-token/--api-key or $ID_TOKEN/$API_KEY. When either is missing they are
# fetched from BASE_URL/_local/credentials, which only the local server has.
# FUNCTION: one of those listed after this help (a test keeps them the contract's).
set -euo pipefail

functions=(create-item get-item list-items update-item delete-item)
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; echo "FUNCTION: ${functions[*]}"; }
die() { echo "smoke: $*" >&2; exit 2; }

base="${BASE_URL:-}"
only=""
token="${ID_TOKEN:-}"
key="${API_KEY:-}"
sub="smoke-$$-$RANDOM"
while (($#)); do
  case "$1" in
    --only) only="${2:?--only needs a function name}"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    --id-token) token="${2:?--id-token needs a value}"; shift 2 ;;
    --api-key) key="${2:?--api-key needs a value}"; shift 2 ;;
    --sub) sub="${2:?--sub needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) base="$1"; shift ;;
  esac
done
base="${base:-http://127.0.0.1:3000}"
base="${base%/}"
if [[ -n "$only" && " ${functions[*]} " != *" $only "* ]]; then
  die "--only takes one of: ${functions[*]}; not '$only'"
fi
command -v curl >/dev/null || die "curl is needed"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Fetch local credentials when none were given. The answer is parsed, never evaluated.
if [[ -z "$token" || -z "$key" ]]; then
  if ! curl -sS --max-time 10 -o "$work/creds" -w '%{http_code}' \
      "$base/_local/credentials?sub=$sub&format=env" >"$work/code" 2>"$work/err" \
      || [[ "$(cat "$work/code")" != 200 ]]; then
    die "no credentials: set ID_TOKEN and API_KEY (or --id-token/--api-key); $base/_local/credentials answered $(cat "$work/code" 2>/dev/null || echo nothing) $(cat "$work/err")"
  fi
  while IFS='=' read -r name value; do
    [[ "$value" =~ ^[A-Za-z0-9._-]+$ ]] || continue
    case "$name" in
      ID_TOKEN) [[ -n "$token" ]] || token="$value" ;;
      API_KEY) [[ -n "$key" ]] || key="$value" ;;
    esac
  done <"$work/creds"
  [[ -n "$token" && -n "$key" ]] || die "the credentials route gave no ID_TOKEN/API_KEY"
fi

passed=0
failed=0
rows=()
body_file="$work/body"
head_file="$work/headers"

# check FUNCTION LABEL EXPECTED METHOD PATH [extra curl args...]
# Leaves the response body in $body_file and headers in $head_file.
check() {
  local fn="$1" label="$2" expected="$3" method="$4" path="$5"
  shift 5
  local out code secs ms verdict
  # Empty files first: when curl cannot connect it writes neither, and the checks read both.
  : >"$body_file"
  : >"$head_file"
  out="$(curl -sS --max-time 30 -X "$method" "$base$path" \
    -H "Authorization: $token" -H "x-api-key: $key" \
    -o "$body_file" -D "$head_file" -w '%{http_code} %{time_total}' "$@" 2>"$work/curl-err")" \
    || out="000 0"
  code="${out%% *}"
  secs="${out#* }"
  ms="$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')"
  if [[ "$code" == "$expected" ]]; then
    verdict=PASS
    passed=$((passed + 1))
  else
    verdict=FAIL
    failed=$((failed + 1))
  fi
  rows+=("$(printf '%-12s %-46s %-8s %-8s %6s  %s' "$fn" "$label" "$expected" "$code" "$ms" "$verdict")")
  if [[ "$verdict" == FAIL ]]; then
    rows+=("             -> $(head -c 300 "$body_file" 2>/dev/null | tr '\n' ' ')$(cat "$work/curl-err")")
  fi
}

# The first "id" of the last body, and its ETag.
last_id() { sed -n 's/^{"id":"\([0-9a-f-]*\)".*/\1/p' "$body_file" | head -n 1; }
last_etag() { tr -d '\r' <"$head_file" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | tail -n 1; }

runs() { [[ -z "$only" || "$only" == "$1" ]]; }
json=(-H 'Content-Type: application/json')

id=""
etag=""
stale=""
deleted=0
cleanup_item() {
  if [[ -n "$id" && "$deleted" == 0 ]]; then
    curl -sS --max-time 10 -o /dev/null -X DELETE "$base/v1/items/$id" \
      -H "Authorization: $token" -H "x-api-key: $key" || true
  fi
  rm -rf "$work"
}
trap cleanup_item EXIT

needs_item() { [[ "$only" != list-items ]]; }

if needs_item; then
  check create-item "POST /v1/items" 201 POST /v1/items "${json[@]}" \
    --data '{"name":"smoke test item","description":"made by scripts/smoke.sh","tags":["smoke"]}'
  id="$(last_id)"
  etag="$(last_etag)"
  if [[ -z "$id" || -z "$etag" ]]; then
    rows+=("             -> no id or ETag in the create response: cannot go on")
    failed=$((failed + 1))
    id=""
  fi
fi
if runs create-item; then
  check create-item "POST /v1/items with a client-set owner" 400 POST /v1/items "${json[@]}" \
    --data '{"name":"x","owner":"someone-else"}'
fi

if [[ -n "$id" ]] && runs get-item; then
  check get-item "GET /v1/items/{id}" 200 GET "/v1/items/$id"
  check get-item "GET /v1/items/not-an-id" 400 GET /v1/items/not-an-id
fi

if runs list-items; then
  check list-items "GET /v1/items?limit=10" 200 GET "/v1/items?limit=10"
  if [[ -n "$id" ]] && ! grep -q "\"$id\"" "$body_file"; then
    rows+=("             -> the list does not hold the item just made ($id)")
    failed=$((failed + 1))
  fi
  check list-items "GET /v1/items?limit=0" 400 GET "/v1/items?limit=0"
fi

if [[ -n "$id" ]] && runs update-item; then
  check update-item "PATCH /v1/items/{id} If-Match: current" 200 PATCH "/v1/items/$id" \
    "${json[@]}" -H "If-Match: $etag" --data '{"name":"smoke test item, renamed"}'
  stale="$etag"
  etag="$(last_etag)"
  check update-item "PATCH /v1/items/{id} If-Match: stale" 412 PATCH "/v1/items/$id" \
    "${json[@]}" -H "If-Match: $stale" --data '{"name":"lost update"}'
fi

if [[ -n "$id" ]] && runs delete-item; then
  check delete-item "DELETE /v1/items/{id} If-Match: \"999999\"" 412 DELETE "/v1/items/$id" \
    -H 'If-Match: "999999"'
  check delete-item "DELETE /v1/items/{id} If-Match: current" 204 DELETE "/v1/items/$id" \
    -H "If-Match: $etag"
  [[ "$(tail -n 1 <<<"${rows[-1]}")" == *PASS ]] && deleted=1
  check delete-item "GET /v1/items/{id} after delete" 404 GET "/v1/items/$id"
fi

printf '%-12s %-46s %-8s %-8s %6s  %s\n' function request expected got ms result
printf '%s\n' "${rows[@]}"
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
