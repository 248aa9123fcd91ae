#!/usr/bin/env bash
# The main job on a fresh machine: install redis-server if missing, build warden, and run
# the kill-the-primary drill against an ephemeral local lab. Extra arguments go to the drill
# (e.g. --json out.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cargo build --release --quiet
exec ./target/release/warden drill scenarios/primary-kill.toml "$@"
