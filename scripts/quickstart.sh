#!/usr/bin/env bash
# The main job on a fresh machine: install redis-server if missing, build warden, and run
# the kill-the-primary drill against an ephemeral local lab. Extra arguments go to the drill
# (e.g. --json out.json). Each step says what it does first; the first build takes minutes
# and shows cargo's own progress. Idempotent: a second run skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "==> $*" >&2; }
step "checking the system packages (redis-server, redis-tools, …); installing any missing"
bash scripts/setup.sh >&2
step "building warden (release; the first build takes several minutes)"
cargo build --release --locked
step "running the drill scenarios/primary-kill.toml: it starts a local lab, kills its primary 3 times (about two minutes)"
exec ./target/release/warden drill scenarios/primary-kill.toml "$@"
