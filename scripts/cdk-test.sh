#!/usr/bin/env bash
# Checks of the CDK app: type check, assertion + cdk-nag tests, synth of every stage (x86_64, the
# only architecture this machine builds), cfn-lint and checkov on the synthesized templates.
# Offline: no AWS credentials, no telemetry, no checkov downloads.
#
# Needs the release zips: make build ARCH=x86_64 (target/lambda/<function>/bootstrap.zip).
# CDK_TEST_ARTIFACTS_DIR=DIR points synth at other zips (e.g. fakes while developing the stack).
set -euo pipefail
cd "$(dirname "$0")/.."

export CDK_DISABLE_CLI_TELEMETRY=1
# checkov: no platform mapping, no SCA package scan, no version check; --skip-download below.
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false CKV_NO_VERSION_CHECK=1 CHECKOV_NO_VERSION_CHECK=1 ENABLE_DEFINITION_KEY=false
export PYTHONWARNINGS=ignore

STAGES=(dev staging prod)
ARTIFACTS_DIR="${CDK_TEST_ARTIFACTS_DIR:-target/lambda}"
functions=$(node -e 'const c=require("./api/openapi.json");for(const p of Object.values(c.paths))for(const o of Object.values(p))if(o["x-function"])console.log(o["x-function"])')

step() { printf '\n== %s\n' "$*"; }

step "python tools (.venv)"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
if ! .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt; then
  echo "could not install requirements-dev.txt into .venv" >&2; exit 1
fi

step "tsc --noEmit"
npx tsc --noEmit

step "node tests (cdk/test)"
node --import tsx --test cdk/test/*.test.ts

step "artifacts in $ARTIFACTS_DIR"
missing=()
for fn in $functions; do
  [ -f "$ARTIFACTS_DIR/$fn/bootstrap.zip" ] || missing+=("$ARTIFACTS_DIR/$fn/bootstrap.zip")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing Lambda artifacts:\n'; printf '  %s\n' "${missing[@]}"
  echo "Run: make build ARCH=x86_64" >&2
  exit 1
fi

templates=()
for stage in "${STAGES[@]}"; do
  step "cdk synth stage=$stage arch=x86_64"
  rm -rf "cdk.out/$stage"
  start=$(date +%s%N)
  npx cdk synth -c stage="$stage" -c arch=x86_64 -c build=false -c artifactsDir="$ARTIFACTS_DIR" --quiet -o "cdk.out/$stage"
  echo "synth $stage: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  templates+=("cdk.out/$stage/SecureServerlessBackend-$stage.template.json")
done

step "cfn-lint (fails on errors; warnings are shown)"
.venv/bin/cfn-lint --non-zero-exit-code error "${templates[@]}"

step "checkov (cloudformation, offline)"
for t in "${templates[@]}"; do
  .venv/bin/checkov --skip-download --framework cloudformation --compact --quiet -f "$t"
done

step "all CDK checks passed"
