#!/usr/bin/env bash
# Fails when a built bootstrap needs a glibc newer than provided.al2023 has (2.34).
#   scripts/check-glibc.sh [LAMBDA_DIR]    (default target/lambda/arm64)
set -euo pipefail
dir="${1:-target/lambda/arm64}"
max="2.34"
status=0
shopt -s nullglob
zips=("$dir"/*/bootstrap.zip)
[[ ${#zips[@]} -gt 0 ]] || { echo "check-glibc: no $dir/*/bootstrap.zip: run make build" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for zip in "${zips[@]}"; do
  fn="$(basename "$(dirname "$zip")")"
  unzip -q -o "$zip" bootstrap -d "$tmp/$fn"
  needed="$(readelf -W --version-info "$tmp/$fn/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
  needed="${needed:-none}"
  if [[ "$needed" != none && "$(printf '%s\n%s\n' "$needed" "$max" | sort -V | tail -n 1)" != "$max" ]]; then
    echo "check-glibc: $fn needs glibc $needed > $max (provided.al2023)" >&2
    status=1
  else
    printf 'check-glibc: %-12s needs glibc %s (<= %s)\n' "$fn" "$needed" "$max"
  fi
done
exit "$status"
