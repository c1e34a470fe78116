#!/usr/bin/env bash
# Checks of the CDK app: type check, assertion + cdk-nag tests (and the workflow rules), synth of
# every stage and of the account stack (also with GitHub Actions' deploy access), cfn-lint and
# checkov on the synthesized templates.
# Offline: no AWS credentials, no telemetry, no checkov downloads.
#
# dev and staging synthesize with the x86_64 zips, prod and prod-global with the arm64 zips (the
# stack's default), so both architectures' artifacts pass the stack's checks: make build ARCH=x86_64
# and make build ARCH=arm64 (target/lambda/<arch>/<function>/bootstrap.zip). Every stage but dev
# gets -c alarmEmail=alarms@example.com (they refuse to synthesize without a subscriber). A stage
# may be several stacks (prod's backup-copy stack, prod-global's regions): every template of its
# assembly is linted.
# CDK_TEST_ARTIFACTS_ROOT=DIR reads DIR/<arch>/ instead of target/lambda/<arch>/ (e.g. fakes).
set -euo pipefail
cd "$(dirname "$0")/.."

export CDK_DISABLE_CLI_TELEMETRY=1
# checkov: no platform mapping, no SCA package scan, no version check; --skip-download below.
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false CKV_NO_VERSION_CHECK=1 CHECKOV_NO_VERSION_CHECK=1 ENABLE_DEFINITION_KEY=false
export PYTHONWARNINGS=ignore

STAGES=(dev staging prod prod-global)
declare -A ARCH_OF=([dev]=x86_64 [staging]=x86_64 [prod]=arm64 [prod-global]=arm64)
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
  for t in "cdk.out/$stage"/*.template.json; do templates+=("$t"); done
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
    const manifest = JSON.parse(fs.readFileSync(`${dir}/manifest.json`, "utf8"));
    const fail = (m) => { console.error(`operator assembly ${stage}: ${m}`); process.exit(1); };
    const settings = require("./config/stages.json").stages[stage];
    const primary = `SecureServerlessBackend-${stage}`;
    // Every stack of the manifest, with its region (null: environment-agnostic).
    const want = Object.entries(manifest.artifacts).filter(([, a]) => a.type === "aws:cloudformation:stack").map(([id, a]) => {
      const region = a.environment.split("/")[3];
      return { name: a.properties.stackName ?? id, region: region.startsWith("unknown-") ? null : region, template: a.properties.templateFile };
    }).sort((a, b) => a.name.localeCompare(b.name));
    const s = got.stacks;
    if (JSON.stringify(s.map((x) => [x.name, x.region])) !== JSON.stringify(want.map((x) => [x.name, x.region]))) fail(`stacks ${JSON.stringify(s.map((x) => [x.name, x.region]))}, manifest ${JSON.stringify(want.map((x) => [x.name, x.region]))}`);
    if (!s.some((x) => x.name === primary)) fail(`no ${primary}`);
    const regions = settings.regions ?? [null];
    const apiStacks = s.filter((x) => x.name === primary || regions.slice(1).some((r) => x.name === `${primary}-${r}`));
    if (apiStacks.length !== regions.length) fail(`${apiStacks.length} API stacks for regions ${JSON.stringify(regions)}`);
    const perFn = settings.reservedConcurrency ?? 0;
    for (const x of s) {
      const t = JSON.parse(fs.readFileSync(`${dir}/${want.find((w) => w.name === x.name).template}`, "utf8"));
      const res = Object.values(t.Resources);
      const fns = res.filter((r) => r.Type === "AWS::Lambda::Function");
      const reserved = fns.reduce((n, r) => n + (r.Properties.ReservedConcurrentExecutions ?? 0), 0);
      const subs = res.filter((r) => r.Type === "AWS::SNS::Subscription").length;
      const alarms = res.filter((r) => r.Type === "AWS::CloudWatch::Alarm").length;
      const stages = res.filter((r) => r.Type === "AWS::ApiGateway::Stage").length;
      const isApi = apiStacks.includes(x);
      if (x.reservedConcurrency !== reserved || reserved !== (isApi ? perFn * Number(fnCount) : 0)) fail(`${x.name}: reserved ${x.reservedConcurrency}, template ${reserved}, stages.json ${perFn} x ${fnCount}`);
      if (x.subscriptions !== subs) fail(`${x.name}: subscriptions ${x.subscriptions}, template ${subs}`);
      if (x.alarms !== alarms) fail(`${x.name}: alarms ${x.alarms}, template ${alarms}`);
      if (x.apiStages !== stages || stages !== (isApi ? 1 : 0)) fail(`${x.name}: API stages ${x.apiStages}, template ${stages}`);
      console.log(`${stage}: ${x.name} in ${x.region ?? "the CLI region"}: ${x.reservedConcurrency} reserved, ${x.subscriptions} subscriber(s), ${x.alarms} alarm(s), ${x.apiStages} API stage(s)`);
    }
    if (!got.bootstrap.some((b) => b.version >= 6 && b.parameter === "/cdk-bootstrap/hnb659fds/version")) fail(`bootstrap ${JSON.stringify(got.bootstrap)}`);
    console.log(`${stage}: bootstrap version ${Math.max(...got.bootstrap.map((b) => b.version))}`);
  ' "$stage" "cdk.out/$stage" "$(wc -w <<<"$functions")"
done

step "cfn-lint (fails on errors; warnings are shown)"
.venv/bin/cfn-lint --non-zero-exit-code error "${templates[@]}"

step "checkov (cloudformation, offline)"
for t in "${templates[@]}"; do
  .venv/bin/checkov --skip-download --framework cloudformation --compact --quiet -f "$t"
done

step "all CDK checks passed"
