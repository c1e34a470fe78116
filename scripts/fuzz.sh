#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target in fuzz/ for a bounded time each, then reports per target the
# runs executed and the crashes found (the goal is 0).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default 60; `make fuzz` / `make fuzz-long` call this
#   FUZZ_TARGETS="cursor if_match" scripts/fuzz.sh 30     only these targets
#
# Needs the nightly toolchain (installs it with rustup when missing); installs cargo-fuzz into
# ~/.cargo/bin with `cargo install cargo-fuzz --locked` when it is missing. Runs offline once
# built: libFuzzer is compiled in, nothing is fetched while fuzzing.
#
# Inputs: fuzz/seeds/<target>/ (committed, read only) seed a working corpus in
# fuzz/corpus/<target>/ (ignored by git; kept between runs so coverage accumulates). A crash
# leaves its input in fuzz/artifacts/<target>/; reproduce with
#   cargo +nightly fuzz run -a <target> fuzz/artifacts/<target>/<file>
# and turn it into a sentence-named test in functions/core/tests/fuzz_regressions.rs.
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]  (a positive whole number, not '$seconds')" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! cargo +nightly --version >/dev/null 2>&1; then
    # A fresh machine (GitHub's runners) has stable only; rustup brings nightly, as it brings the
    # other architecture's target for the build.
    command -v rustup >/dev/null || { echo "fuzzing needs the nightly toolchain: install rustup, then rustup toolchain install nightly" >&2; exit 2; }
    echo "==> installing the nightly toolchain (rustup toolchain install nightly --profile minimal)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

# -a: debug assertions and overflow checks on, so arithmetic overflow is a finding too.
# Address sanitizer (cargo-fuzz's default) for the dependencies' unsafe code.
build_flags=(-a)

echo "==> building the fuzz targets (nightly, release, sanitizer=address)"
cargo +nightly fuzz build "${build_flags[@]}"

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

logs="fuzz/logs"
mkdir -p "$logs"
declare -A runs crashes status
failed=0
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    seeds="fuzz/seeds/$t"
    artifacts="fuzz/artifacts/$t"
    mkdir -p "$corpus" "$seeds" "$artifacts"
    extra=()
    [[ -f "fuzz/dicts/$t.dict" ]] && extra+=("-dict=fuzz/dicts/$t.dict")
    before=$(find "$artifacts" -type f | wc -l)
    echo "==> $t: ${seconds}s"
    set +e
    cargo +nightly fuzz run "${build_flags[@]}" "$t" "$corpus" "$seeds" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${extra[@]}" >"$logs/$t.log" 2>&1
    rc=$?
    set -e
    after=$(find "$artifacts" -type f | wc -l)
    runs[$t]=$(awk '/stat::number_of_executed_units:/ {n=$2} END {print n+0}' "$logs/$t.log")
    crashes[$t]=$((after - before))
    if [[ $rc -ne 0 || ${crashes[$t]} -ne 0 ]]; then
        status[$t]="FAILED (exit $rc, log $logs/$t.log)"
        failed=1
        grep -m1 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$logs/$t.log" || true
    else
        status[$t]="ok"
    fi
done

echo
printf '%-18s %14s %8s  %s\n' target runs crashes result
for t in "${targets[@]}"; do
    printf '%-18s %14s %8s  %s\n' "$t" "${runs[$t]}" "${crashes[$t]}" "${status[$t]}"
done
exit "$failed"
