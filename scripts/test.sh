#!/usr/bin/env bash
# Every test and check, on a fresh clone, with nothing installed by hand: `make test`.
# Installs from the project's files (and the Debian packages that run the other architecture's
# binaries under qemu, when root), builds the release zips for both architectures
# (target/lambda/x86_64 and target/lambda/arm64), starts its own DynamoDB Local on a free port
# and stops it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "setup"
scripts/setup.sh
scripts/system-packages-test.sh
# The artifact tests run the zips of both architectures; the one that is not this machine's runs
# under qemu user-mode emulation with that architecture's C library.
case "$(uname -m)" in
  x86_64) scripts/system-packages.sh qemu-user libc6-arm64-cross ;;
  aarch64) scripts/system-packages.sh qemu-user libc6-amd64-cross ;;
  *) echo "test: Lambda runs x86_64 and arm64; this machine is $(uname -m)" >&2; exit 1 ;;
esac

step "format, lints, types, workflows (scripts/lint.sh, as make lint)"
scripts/lint.sh

step "build the release zips (x86_64)"
scripts/build.sh x86_64

step "build the release zips (arm64)"
scripts/build.sh arm64

step "start DynamoDB Local"
DYNAMODB_LOCAL_STATE="$(mktemp -d)"
export DYNAMODB_LOCAL_STATE
trap 'scripts/dynamodb-local.sh stop; rm -rf "$DYNAMODB_LOCAL_STATE"' EXIT
AWS_ENDPOINT_URL_DYNAMODB="$(scripts/dynamodb-local.sh start 0)"
export AWS_ENDPOINT_URL_DYNAMODB
echo "DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB"

step "Rust: unit, contract, integration (DynamoDB Local) and artifact tests (x86_64 and arm64)"
cargo test --workspace --locked

step "fuzz every parser of untrusted input (10 s per target; make fuzz-long for more)"
scripts/fuzz.sh 10

step "API: property-based tests from the contract (schemathesis, short run)"
scripts/schemathesis.sh

step "browsers: a client app on another origin and the API reference in Chromium (scripts/browser-test.sh)"
scripts/browser-test.sh

step "CDK: template assertions, cdk-nag, synth of every stage, cfn-lint, checkov"
scripts/cdk-test.sh

step "all tests passed"
