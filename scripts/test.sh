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
# The second server family: the tests of what warden does to a live cluster (drills, watch,
# backups, the failover timeline, SYNC, the lab itself) again on Valkey 8.1, which setup.sh caches. Missing, it
# is a failure, unless the run opted out of missing tools (WARDEN_TEST_SKIP_MISSING=1, as the tests).
valkey="${WARDEN_VALKEY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warden/valkey-8.1}/valkey-server"
if [ -x "$valkey" ]; then
  step "running the drill, watch, backup, failover, sync and lab tests again on $("$valkey" --version | cut -d' ' -f1-3)"
  start=$SECONDS
  WARDEN_TEST_SERVER=valkey cargo nextest run --locked --no-fail-fast \
    --test drill --test watch --test backup --test failover --test sync --test lab "$@"
  step "the Valkey pass took $((SECONDS - start)) s"
elif [ "${WARDEN_TEST_SKIP_MISSING:-}" = 1 ]; then
  step "skipping the Valkey pass: $valkey is missing (scripts/setup.sh fetches it; WARDEN_TEST_SKIP_MISSING=1)"
else
  echo "error: $valkey is missing: run bash scripts/setup.sh, or set WARDEN_TEST_SKIP_MISSING=1 to skip the Valkey pass" >&2
  exit 1
fi
step "running the doc tests"
cargo test --locked --doc --quiet
