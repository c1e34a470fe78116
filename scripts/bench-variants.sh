#!/usr/bin/env bash
# What each release-profile choice buys: builds get-item under profile variants (cargo's
# CARGO_PROFILE_RELEASE_* overrides, each in its own --lambda-dir) and measures each with the
# benchmark harness. Slow (a full release build per variant); not part of make test.
#   scripts/bench-variants.sh   → target/bench/variants.json and a table on stdout
#   VARIANTS="shipped opt-level-3" picks variants; REUSE_ZIPS=1 measures zips already built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
all_variants=(
  "shipped:"
  "opt-level-3:CARGO_PROFILE_RELEASE_OPT_LEVEL=3"
  "opt-level-s:CARGO_PROFILE_RELEASE_OPT_LEVEL=s"
  "thin-lto:CARGO_PROFILE_RELEASE_LTO=thin"
  "panic-unwind:CARGO_PROFILE_RELEASE_PANIC=unwind"
  "codegen-units-16:CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
)
# VARIANTS="shipped opt-level-3" picks some; default all.
variants=()
for v in "${all_variants[@]}"; do
  if [[ -z "${VARIANTS:-}" || " $VARIANTS " == *" ${v%%:*} "* ]]; then variants+=("$v"); fi
done
DYNAMODB_LOCAL_STATE="$(mktemp -d)"
export DYNAMODB_LOCAL_STATE
trap 'scripts/dynamodb-local.sh stop; rm -rf "$DYNAMODB_LOCAL_STATE"' EXIT
AWS_ENDPOINT_URL_DYNAMODB="$(scripts/dynamodb-local.sh start 0)"
export AWS_ENDPOINT_URL_DYNAMODB
cargo build --release --locked -p bench
mkdir -p target/bench
out=target/bench/variants.json
echo "[" >"$out"
first=1
for v in "${variants[@]}"; do
  name="${v%%:*}"; setting="${v#*:}"
  dir="target/lambda-variants/$name"
  start=$SECONDS
  if [[ -n "${REUSE_ZIPS:-}" && -f "$dir/get-item/bootstrap.zip" ]]; then
    build_s=null   # measured by an earlier run
  else
    env ${setting:+"$setting"} PATH="$PWD/.venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target/variants/$name" \
      cargo lambda build --release --output-format zip --x86-64 -p get-item --lambda-dir "$dir" >/dev/null 2>&1
    build_s=$((SECONDS - start))
  fi
  result="$(BENCH_LAMBDA_DIR="$dir" BENCH_FUNCTIONS=get-item BENCH_RUNS="${BENCH_RUNS:-3}" \
    BENCH_INVOCATIONS="${BENCH_INVOCATIONS:-300}" target/release/bench 2>/dev/null)"
  [[ $first == 1 ]] || echo "," >>"$out"
  first=0
  printf '{"variant":"%s","setting":"%s","cleanBuildSeconds":%s,"result":%s}\n' \
    "$name" "$setting" "$build_s" "$result" >>"$out"
  echo "$name ($setting): built in ${build_s}s"
done
echo "]" >>"$out"
node -e '
const v = require("./" + process.argv[1]);
console.log("| variant | setting | clean build | zip | init (warm-up off) | warm p50 over the floor | peak RSS |\n|---|---|---|---|---|---|---|");
for (const x of v) {
  const [r, off] = x.result.functions;
  console.log(`| ${x.variant} | ${x.setting || "(Cargo.toml)"} | ${x.cleanBuildSeconds ?? "–"} s | ${(r.zipBytes / 1e6).toFixed(2)} MB | ${off.initMs.toFixed(2)} ms | +${(r.warmP50Ms - r.storageFloorP50Ms).toFixed(2)} ms | ${(r.peakRssKiB / 1024).toFixed(1)} MiB |`);
}' "$out"
