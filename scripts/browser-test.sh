#!/usr/bin/env bash
# The browser tests (web/test/*.test.ts): a client app on another origin calls the local API with
# fetch, a disallowed origin is blocked, and the API reference renders and runs "Try it out", in
# Debian's Chromium driven by playwright-core (installed from package-lock.json; never a browser
# download). Installs chromium as scripts/system-packages.sh does unless CHROMIUM, /usr/bin/chromium
# or /usr/bin/google-chrome (GitHub's runners) is there; builds the API reference page (make docs)
# and local-server; uses the DynamoDB Local of AWS_ENDPOINT_URL_DYNAMODB or starts its own.
# Screenshots: target/browser/*.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh node
if [[ -z "${CHROMIUM:-}" && ! -x /usr/bin/chromium && ! -x /usr/bin/google-chrome ]]; then
  scripts/system-packages.sh chromium
fi
node --import tsx web/api-reference.ts
cargo build --locked -p local-server

if [[ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then
  DYNAMODB_LOCAL_STATE="$(mktemp -d)"
  export DYNAMODB_LOCAL_STATE
  trap 'scripts/dynamodb-local.sh stop; rm -rf "$DYNAMODB_LOCAL_STATE"' EXIT
  AWS_ENDPOINT_URL_DYNAMODB="$(scripts/dynamodb-local.sh start 0)"
  export AWS_ENDPOINT_URL_DYNAMODB
fi
rm -rf target/browser
node --import tsx --test web/test/*.test.ts
echo "browser-test: screenshots in target/browser/: $(cd target/browser && ls | tr '\n' ' ')"
