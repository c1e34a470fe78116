#!/usr/bin/env bash
# make bench: builds the release zips for this machine (x86_64), starts its own DynamoDB Local,
# and runs the benchmark harness (tools/lambda-emulator/src/bin/bench.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/build.sh x86_64
DYNAMODB_LOCAL_STATE="$(mktemp -d)"
export DYNAMODB_LOCAL_STATE
trap 'scripts/dynamodb-local.sh stop; rm -rf "$DYNAMODB_LOCAL_STATE"' EXIT
AWS_ENDPOINT_URL_DYNAMODB="$(scripts/dynamodb-local.sh start 0)"
export AWS_ENDPOINT_URL_DYNAMODB
mkdir -p docs
cargo run --release --locked -p lambda-emulator --bin bench
