#!/usr/bin/env bash
# make bench: builds the release zips for this machine (x86_64, into target/lambda/x86_64) and
# the hello-world runtime floor beside them, makes the Python baseline's venv (.venv-bench:
# awslambdaric + boto3), starts its own DynamoDB Local, and runs the harness (tools/bench), which
# writes target/bench/results.json and docs/BENCHMARKS.md. BENCH_ARCH=arm64 measures the arm64
# zips under qemu (emulated figures, printed as JSON, never written to the docs).
#   BENCH_RUNS (default 3), BENCH_INVOCATIONS (default 300)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/build.sh x86_64
PATH="$PWD/.venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target" \
  cargo lambda build --release --output-format zip --x86-64 --lambda-dir target/lambda/x86_64 -p hello-floor
if [[ ! -x .venv-bench/bin/python ]]; then
  python3 -m venv .venv-bench
fi
if [[ ! -f .venv-bench/.installed || bench/python/requirements.txt -nt .venv-bench/.installed ]]; then
  .venv-bench/bin/pip install --quiet --disable-pip-version-check -r bench/python/requirements.txt
  touch .venv-bench/.installed
fi
DYNAMODB_LOCAL_STATE="$(mktemp -d)"
export DYNAMODB_LOCAL_STATE
trap 'scripts/dynamodb-local.sh stop; rm -rf "$DYNAMODB_LOCAL_STATE"' EXIT
AWS_ENDPOINT_URL_DYNAMODB="$(scripts/dynamodb-local.sh start 0)"
export AWS_ENDPOINT_URL_DYNAMODB
mkdir -p docs
cargo run --release --locked -p bench
