#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against real redis-server/Sentinel
# processes, and tidy checks. Installs redis-server first if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
# Container tests run on the offline image (built when a Docker engine is reachable).
bash compose/build-local-image.sh
export WARDEN_REDIS_IMAGE="${WARDEN_REDIS_IMAGE:-warden-redis:local}"
cargo nextest run --locked --no-fail-fast "$@"
cargo test --locked --doc --quiet
