#!/usr/bin/env bash
# Checks of the CDK app: type check, assertion + cdk-nag tests (and the workflow rules), synth of
# every stage and of the account stack (also with GitHub Actions' deploy access), cfn-lint and
# checkov on the synthesized templates.
# Offline: no AWS credentials, no telemetry, no checkov downloads.
#
# dev and staging synthesize with the x86_64 zips, prod with the arm64 zips (the stack's default),
# so both architectures' artifacts pass the stack's checks: make build ARCH=x86_64 and
# make build ARCH=arm64 (target/lambda/<arch>/<function>/bootstrap.zip). staging and prod get
# -c alarmEmail=alarms@example.com (they refuse to synthesize without a subscriber).
# CDK_TEST_ARTIFACTS_ROOT=DIR reads DIR/<arch>/ instead of target/lambda/<arch>/ (e.g. fakes).
set -euo pipefail
cd "$(dirname "$0")/.."

export CDK_DISABLE_CLI_TELEMETRY=1
# checkov: no platform mapping, no SCA package scan, no version check; --skip-download below.
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false CKV_NO_VERSION_CHECK=1 CHECKOV_NO_VERSION_CHECK=1 ENABLE_DEFINITION_KEY=false
export PYTHONWARNINGS=ignore

STAGES=(dev staging prod)
declare -A ARCH_OF=([dev]=x86_64 [staging]=x86_64 [prod]=arm64)
ARTIFACTS_ROOT="${CDK_TEST_ARTIFACTS_ROOT:-target/lambda}"
TEST_ALARM_EMAIL=alarms@example.com
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

step "artifacts in $ARTIFACTS_ROOT/<arch>"
missing=()
for arch in $(printf '%s\n' "${ARCH_OF[@]}" | sort -u); do
  for fn in $functions; do
    [ -f "$ARTIFACTS_ROOT/$arch/$fn/bootstrap.zip" ] || missing+=("$ARTIFACTS_ROOT/$arch/$fn/bootstrap.zip (make build ARCH=$arch)")
  done
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing Lambda artifacts:\n' >&2; printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

templates=()
for stage in "${STAGES[@]}"; do
  arch="${ARCH_OF[$stage]}"
  step "cdk synth stage=$stage arch=$arch"
  rm -rf "cdk.out/$stage"
  subscriber=()
  [[ $stage == dev ]] || subscriber=(-c alarmEmail="$TEST_ALARM_EMAIL")
  start=$(date +%s%N)
  npx cdk synth -c stage="$stage" -c arch="$arch" "${subscriber[@]}" -c build=false -c artifactsDir="$ARTIFACTS_ROOT/$arch" --quiet -o "cdk.out/$stage"
  echo "synth $stage: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  templates+=("cdk.out/$stage/SecureServerlessBackend-$stage.template.json")
done

step "cdk synth stack=account"
rm -rf cdk.out/account
npx cdk synth -c stack=account --quiet -o cdk.out/account
templates+=("cdk.out/account/SecureServerlessBackend-account.template.json")

step "cdk synth stack=account with GitHub Actions' deploy access (cdk/test/fixtures/account-github.json)"
rm -rf cdk.out/account-github
npx cdk synth -c stack=account -c accountConfig=cdk/test/fixtures/account-github.json --quiet -o cdk.out/account-github
templates+=("cdk.out/account-github/SecureServerlessBackend-account.template.json")

step "operator CLI: what the deploy preflight reads from each synthesized assembly"
# The operator's assembly reader (tools/operator) on the real synth output, checked against the
# templates read here and against config/stages.json. make test has built the binary already.
operator="${OPERATOR_BIN:-target/debug/operator}"
[ -x "$operator" ] || cargo build --quiet --locked -p operator
for stage in "${STAGES[@]}"; do
  "$operator" assembly --dir "cdk.out/$stage" > "cdk.out/$stage/operator-assembly.json"
  node -e '
    const fs = require("fs");
    const [stage, dir, fnCount] = process.argv.slice(1);
    const got = JSON.parse(fs.readFileSync(`${dir}/operator-assembly.json`, "utf8"));
    const name = `SecureServerlessBackend-${stage}`;
    const t = JSON.parse(fs.readFileSync(`${dir}/${name}.template.json`, "utf8"));
    const res = Object.values(t.Resources);
    const fns = res.filter((r) => r.Type === "AWS::Lambda::Function");
    const reserved = fns.reduce((n, r) => n + (r.Properties.ReservedConcurrentExecutions ?? 0), 0);
    const subs = res.filter((r) => r.Type === "AWS::SNS::Subscription").length;
    const perFn = require("./config/stages.json").stages[stage].reservedConcurrency ?? 0;
    const s = got.stacks;
    const fail = (m) => { console.error(`operator assembly ${stage}: ${m}`); process.exit(1); };
    if (s.length !== 1 || s[0].name !== name) fail(`stacks ${JSON.stringify(s.map((x) => x.name))}`);
    if (s[0].reservedConcurrency !== reserved || reserved !== perFn * Number(fnCount)) fail(`reserved ${s[0].reservedConcurrency}, template ${reserved}, stages.json ${perFn} x ${fnCount}`);
    if (s[0].subscriptions !== subs) fail(`subscriptions ${s[0].subscriptions}, template ${subs}`);
    if (!got.bootstrap.some((b) => b.version >= 6 && b.parameter === "/cdk-bootstrap/hnb659fds/version")) fail(`bootstrap ${JSON.stringify(got.bootstrap)}`);
    console.log(`${stage}: ${s[0].reservedConcurrency} reserved, ${s[0].subscriptions} subscriber(s), bootstrap version ${Math.max(...got.bootstrap.map((b) => b.version))}`);
  ' "$stage" "cdk.out/$stage" "$(wc -w <<<"$functions")"
done

step "cfn-lint (fails on errors; warnings are shown)"
.venv/bin/cfn-lint --non-zero-exit-code error "${templates[@]}"

step "checkov (cloudformation, offline)"
for t in "${templates[@]}"; do
  .venv/bin/checkov --skip-download --framework cloudformation --compact --quiet -f "$t"
done

step "all CDK checks passed"
