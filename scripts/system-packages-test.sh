#!/usr/bin/env bash
# Tests scripts/system-packages.sh's three ways without touching the machine's packages: a PATH of
# stand-ins for id, sudo, dpkg-query and apt-get that record what they were asked.
#   root → apt-get directly; not root with passwordless sudo (GitHub's runners) → sudo -n apt-get;
#   not root without it → one sentence naming the packages, exit status 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() { # name, condition result (0 = holds); on failure shows what the script printed and apt-get got
  if [[ $2 == 0 ]]; then
    echo "ok - $1"
  else
    printf 'not ok - %s\n  status %s\n  output: %s\n  apt-get: %s\n' "$1" "$status" "$out" "$log"
    failures=$((failures + 1))
  fi
}

# bin/: the stand-ins, plus links to the few real tools the script uses.
bin="$work/bin"
mkdir -p "$bin"
for tool in bash env grep cat true; do ln -s "$(type -P "$tool")" "$bin/$tool"; done
cat >"$bin/id" <<'EOF'
#!/bin/bash
echo "$FAKE_UID"
EOF
cat >"$bin/dpkg-query" <<'EOF'
#!/bin/bash
# Installed: what apt-get "installed" in this run.
grep -qx "${@: -1}" "$FAKE_STATE/installed" 2>/dev/null && printf 'install ok installed' || exit 1
EOF
cat >"$bin/apt-get" <<'EOF'
#!/bin/bash
echo "apt-get $* (uid $FAKE_UID, via ${VIA:-nothing})" >>"$FAKE_STATE/log"
if [[ $1 == install ]]; then for p in "$@"; do [[ $p == -* || $p == install ]] || echo "$p" >>"$FAKE_STATE/installed"; done; fi
EOF
cat >"$bin/sudo" <<'EOF'
#!/bin/bash
[[ $1 == -n ]] || { echo "sudo: asked without -n" >&2; exit 1; }
shift
[[ $FAKE_SUDO == passwordless ]] || { echo "sudo: a password is required" >&2; exit 1; }
VIA=sudo FAKE_UID=0 exec "$@"
EOF
chmod +x "$bin"/id "$bin"/dpkg-query "$bin"/apt-get "$bin"/sudo

run() { # uid, sudo mode (passwordless|password|absent) → output in $out, status in $status
  local state="$work/state-$1-$2"
  mkdir -p "$state"
  local path="$bin"
  if [[ $2 == absent ]]; then
    path="$work/bin-nosudo"
    mkdir -p "$path"
    for f in "$bin"/*; do [[ $(basename "$f") == sudo ]] || ln -sf "$f" "$path/"; done
  fi
  set +e
  out=$(PATH="$path" FAKE_UID="$1" FAKE_SUDO="$2" FAKE_STATE="$state" bash scripts/system-packages.sh qemu-user libc6-arm64-cross 2>&1)
  status=$?
  set -e
  log=$(cat "$state/log" 2>/dev/null || true)
}

run 0 absent
check "as root: apt-get installs the missing packages itself" "$([[ $status == 0 && $log == *"apt-get install -y -qq --no-install-recommends qemu-user libc6-arm64-cross (uid 0, via nothing)"* ]]; echo $?)"

run 1001 passwordless
check "not root, passwordless sudo: apt-get runs through sudo -n" "$([[ $status == 0 && $log == *"apt-get update -qq (uid 0, via sudo)"* && $log == *"install -y -qq --no-install-recommends qemu-user libc6-arm64-cross (uid 0, via sudo)"* && $out == *"sudo -n apt-get install qemu-user libc6-arm64-cross"* ]]; echo $?)"

run 1001 password
check "not root, sudo wants a password: one sentence naming the packages, exit 1, nothing installed" "$([[ $status == 1 && -z $log && $(wc -l <<<"$out") == 1 && $out == *"need the Debian packages qemu-user libc6-arm64-cross"* ]]; echo $?)"

run 1001 absent
check "not root, no sudo: the same sentence and exit 1" "$([[ $status == 1 && -z $log && $out == *"run 'sudo apt-get install -y qemu-user libc6-arm64-cross'"* ]]; echo $?)"

echo "$((4 - failures)) passed, $failures failed"
[[ $failures == 0 ]]
