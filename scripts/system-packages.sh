#!/usr/bin/env bash
# Makes sure Debian packages are installed: installs the missing ones with apt when running as
# root (this project's CI does) or through sudo without a password (GitHub's hosted runners), and
# otherwise names them in one sentence and exits non-zero. Never a silent skip.
#   scripts/system-packages.sh PACKAGE...
set -euo pipefail
[[ $# -gt 0 ]] || { echo "system-packages: name at least one Debian package" >&2; exit 2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "$@"; do installed "$p" || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "system-packages: the tests need the Debian packages ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' (or run make test as root, or where sudo needs no password, and it installs them)" >&2
  exit 1
fi
echo "system-packages: ${as_root[*]}${as_root:+ }apt-get install ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for p in "${missing[@]}"; do
  installed "$p" || { echo "system-packages: apt-get did not install $p" >&2; exit 1; }
done
