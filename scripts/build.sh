#!/usr/bin/env bash
# Builds every route function for Lambda (provided.al2023) with cargo-lambda, in one cargo
# invocation over the workspace, and checks the glibc each bootstrap needs.
#   scripts/build.sh [arm64|x86_64]      (default arm64, the stack's default)
# Leaves target/lambda/<function>/bootstrap.zip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch="${1:-arm64}"
case "$arch" in
  arm64) flag=--arm64 ;;
  x86_64) flag=--x86-64 ;;
  *) echo "build: ARCH must be arm64 or x86_64, not '$arch'" >&2; exit 2 ;;
esac
scripts/setup.sh
packages=()
for main in functions/*/src/main.rs; do
  packages+=(-p "$(basename "$(dirname "$(dirname "$main")")")")
done
echo "build: ${#packages[@]} functions for $arch"
# cargo-lambda ignores --target-dir; CARGO_TARGET_DIR is what it honours.
PATH="$PWD/.venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target" \
  cargo lambda build --release --output-format zip "$flag" "${packages[@]}"
scripts/check-glibc.sh target/lambda
