#!/usr/bin/env bash
# A bounded cargo-fuzz run of the RDB verifier: `bash scripts/fuzz.sh [SECONDS]` (default 60).
# Needs a nightly toolchain (cargo-fuzz instruments with -Z flags); installs cargo-fuzz when
# missing. The seed corpus is real RDB files written by the installed redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
bash scripts/setup.sh >/dev/null
seeds=fuzz/corpus/rdb_verify
mkdir -p "$seeds"
if [ -z "$(ls -A "$seeds")" ]; then
  tmp=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --dir "$tmp" --save "" --appendonly no --daemonize no \
    --list-max-listpack-size 4 --set-max-intset-entries 4 >/dev/null &
  pid=$!
  trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
  cli() { redis-cli -p "$port" "$@" >/dev/null; }
  cli set session:a "$(head -c 300 /dev/urandom | base64)" EX 1800
  cli save && cp "$tmp/dump.rdb" "$seeds/strings.rdb"
  cli rpush l 1 2 three four five; cli sadd s 1 2 3; cli sadd t a b c d e f
  cli zadd z 1 a 2 b; cli hset h f v g w; cli xadd x '*' k v; cli set n 12345
  cli save && cp "$tmp/dump.rdb" "$seeds/types.rdb"
fi
cargo +nightly fuzz run rdb_verify "$seeds" -- -max_total_time="$secs" -rss_limit_mb=1024
