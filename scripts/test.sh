#!/usr/bin/env bash
# Every test and check, on a fresh clone, with nothing installed by hand: `make test`.
# Installs from the project's files, builds the release zips (x86_64: this machine runs them),
# starts its own DynamoDB Local on a free port and stops it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "setup"
scripts/setup.sh

step "format, lints, types (scripts/lint.sh, as make lint)"
scripts/lint.sh

step "build the release zips (x86_64)"
scripts/build.sh x86_64

step "start DynamoDB Local"
DYNAMODB_LOCAL_STATE="$(mktemp -d)"
export DYNAMODB_LOCAL_STATE
trap 'scripts/dynamodb-local.sh stop; rm -rf "$DYNAMODB_LOCAL_STATE"' EXIT
AWS_ENDPOINT_URL_DYNAMODB="$(scripts/dynamodb-local.sh start 0)"
export AWS_ENDPOINT_URL_DYNAMODB
echo "DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB"

step "Rust: unit, contract, integration (DynamoDB Local) and artifact tests"
cargo test --workspace --locked

step "fuzz every parser of untrusted input (10 s per target; make fuzz-long for more)"
scripts/fuzz.sh 10

step "API: property-based tests from the contract (schemathesis, short run)"
scripts/schemathesis.sh

step "CDK: template assertions, cdk-nag, synth of every stage, cfn-lint, checkov"
scripts/cdk-test.sh

step "all tests passed"
