#!/usr/bin/env bash
# Installs what the build, the local server and the checks need, from the project's own files:
# node_modules from package-lock.json (npm ci) and a Python venv (.venv) from
# requirements-dev.txt. Does nothing that is already up to date.
#   scripts/setup.sh        both
#   scripts/setup.sh node   node_modules only (CI's AWS jobs: the CDK CLI and tsx, no Python tools)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-all}" in
  all|node) ;;
  *) echo "setup: the argument is 'node' or nothing, not '$1'" >&2; exit 2 ;;
esac

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

[[ "${1:-all}" == node ]] && exit 0

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: python venv"
  python3 -m venv .venv
fi
if [[ ! -f .venv/.requirements-installed || requirements-dev.txt -nt .venv/.requirements-installed ]]; then
  echo "setup: pip install -r requirements-dev.txt"
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  touch .venv/.requirements-installed
fi
