#!/usr/bin/env bash
# Format, lints and types: what `make lint` runs and what `make test` (CI) runs first.
#   cargo fmt --check, clippy with warnings denied on every target, tsc --noEmit, actionlint
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
npx --no-install tsc --noEmit
# .github/workflows; shellcheck and pyflakes off so that the result does not depend on what else
# the machine has (every run step is one make command: cdk/test/workflows.test.ts).
.venv/bin/actionlint -shellcheck= -pyflakes=
echo "actionlint: no findings"
