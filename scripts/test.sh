#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against real redis-server/Sentinel
# processes, and tidy checks. Installs redis-server first if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cargo nextest run --locked --no-fail-fast "$@"
cargo test --locked --doc --quiet
