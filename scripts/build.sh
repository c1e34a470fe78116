#!/usr/bin/env bash
# Builds every route function for Lambda (provided.al2023) with cargo-lambda, in one cargo
# invocation over the workspace, and checks the glibc each bootstrap needs.
#   scripts/build.sh [arm64|x86_64]      (default arm64, the stack's default)
# Leaves target/lambda/<arch>/<function>/bootstrap.zip, so both architectures coexist.
# Installs the Rust target for the architecture with rustup when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arch="${1:-arm64}"
case "$arch" in
  arm64) flag=--arm64 target=aarch64-unknown-linux-gnu ;;
  x86_64) flag=--x86-64 target=x86_64-unknown-linux-gnu ;;
  *) echo "build: ARCH must be arm64 or x86_64, not '$arch'" >&2; exit 2 ;;
esac
scripts/setup.sh
if ! rustup target list --installed | grep -qx "$target"; then
  echo "build: rustup target add $target"
  rustup target add "$target"
fi
packages=()
for main in functions/*/src/main.rs; do
  packages+=(-p "$(basename "$(dirname "$(dirname "$main")")")")
done
out="target/lambda/$arch"
echo "build: ${#packages[@]} functions for $arch into $out"
# The digest of the sources as they are now, written beside the zips once they are built from them
# (the CDK app takes zips with a matching stamp as fresh whatever their times: CI's artifacts).
digest=$(node --import tsx cdk/tools/stamp-artifacts.ts begin "$out")
# cargo-lambda ignores --target-dir; CARGO_TARGET_DIR is what it honours.
PATH="$PWD/.venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target" \
  cargo lambda build --release --output-format zip "$flag" --lambda-dir "$out" "${packages[@]}"
scripts/check-glibc.sh "$out"
node --import tsx cdk/tools/stamp-artifacts.ts write "$out" "$digest"
