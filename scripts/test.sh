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
# The other server family, Valkey, in two passes on the versions setup.sh caches (8.1 and 9.1).
# A full run should stay under 25 minutes, so the tests of what warden does to a live cluster are
# split between them, each binary once; every feature runs on Redis (above) and on Valkey:
#
#   test binary     Valkey 8.1  Valkey 9.1
#   watch           yes         -
#   backup          yes         -
#   failover        yes         -
#   sync            yes         -
#   lab             yes         -
#   drill           -           yes
#   drill_faults    -           coordinated failovers (warden's and Valkey 9's native one)
#   hazards_lab     -           two primaries, failover loop
#
# Tests that start a Valkey of their own (tests/valkey_rdb.rs, the cross-family restores) run in
# the main pass above.
# A missing Valkey is a failure, unless the run opted out of missing tools
# (WARDEN_TEST_SKIP_MISSING=1, as the tests).
valkey_pass() { # NAME BINARY TEST_SERVER NEXTEST_ARGS…
  local name=$1 bin=$2 server=$3
  shift 3
  if [ -x "$bin" ]; then
    step "running the Valkey $name pass on $("$bin" --version | cut -d' ' -f1-3)"
    local start=$SECONDS
    WARDEN_TEST_SERVER=$server cargo nextest run --locked --no-fail-fast "$@"
    step "the Valkey $name pass took $((SECONDS - start)) s"
  elif [ "${WARDEN_TEST_SKIP_MISSING:-}" = 1 ]; then
    step "skipping the Valkey $name pass: $bin is missing (scripts/setup.sh fetches it; WARDEN_TEST_SKIP_MISSING=1)"
  else
    echo "error: $bin is missing: run bash scripts/setup.sh, or set WARDEN_TEST_SKIP_MISSING=1 to skip the Valkey $name pass" >&2
    exit 1
  fi
}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/warden"
valkey_pass 8.1 "${WARDEN_VALKEY_DIR:-$cache/valkey-8.1}/valkey-server" valkey \
  --test watch --test backup --test failover --test sync --test lab "$@"
valkey_pass 9.1 "${WARDEN_VALKEY9_DIR:-$cache/valkey-9.1}/valkey-server" valkey9 \
  --test drill --test drill_faults --test hazards_lab \
  -E 'binary(drill)
      or binary(drill_faults) and test(coordinated)
      or binary(hazards_lab) and (test(two_primaries) or test(failover_loop))' "$@"
step "running the doc tests"
cargo test --locked --doc --quiet
