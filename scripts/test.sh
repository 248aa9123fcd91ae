#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against real redis-server/Sentinel
# processes, and tidy checks. Installs redis-server first if it is missing. Each step says
# what it does first.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "==> $*" >&2; }
step "checking the system packages (redis-server, redis-tools, …); installing any missing"
bash scripts/setup.sh
# Container tests run on the offline image (built when a Docker engine is reachable).
step "building the offline Redis image for the container tests (skipped without Docker)"
bash compose/build-local-image.sh
export WARDEN_REDIS_IMAGE="${WARDEN_REDIS_IMAGE:-warden-redis:local}"
# The warden image for tests/deploy.rs, packed from the debug binary (a release build would
# cost minutes; `bash deploy/build-image.sh` alone packs a release build).
step "building warden and packing the warden:local image for the deploy tests (skipped without Docker)"
cargo build --locked
WARDEN_BIN=target/debug/warden bash deploy/build-image.sh
step "running the tests (cargo nextest)"
cargo nextest run --locked --no-fail-fast "$@"
step "running the doc tests"
cargo test --locked --doc --quiet
