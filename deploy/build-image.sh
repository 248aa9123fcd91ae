#!/usr/bin/env bash
# Builds the warden image offline, as compose/build-local-image.sh builds the Redis one: no
# registry is needed. The image is `FROM scratch` with
#   /warden                      the release binary without debug sections (ENTRYPOINT), run as
#                                uid 10001 (`warden`);
#   /usr/local/bin/redis-server  the host's, for `warden restore-test` (its scratch server);
#   /bin/bash                    for the compose health check (an HTTP GET of /healthz over
#                                bash's /dev/tcp: a scratch image has no curl or wget);
#   the shared libraries `ldd` lists for those three, and the dynamic loader;
#   /etc/ssl/certs/ca-certificates.crt (object storage over TLS), /etc/passwd, /etc/group, /tmp.
#
# The release binary is reused when it is newer than every source file (src/, Cargo.toml,
# Cargo.lock), and built with `nice cargo build --release --locked` otherwise. `WARDEN_BIN`
# names another binary to pack instead (nothing is built then).
#
# Idempotent: the image carries a fingerprint of everything copied in and of this script, and
# is not rebuilt while they are unchanged. Without a Docker engine it prints why and exits 0,
# before building anything, so `.ci/run` on a machine without Docker still runs the rest.
#
# Usage: deploy/build-image.sh [TAG]   (default warden:local)
set -euo pipefail
tag="${1:-warden:local}"
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "build-image: no Docker engine reachable; skipping $tag" >&2
  exit 0
fi

bin="${WARDEN_BIN:-}"
if [ -z "$bin" ]; then
  bin="${CARGO_TARGET_DIR:-target}/release/warden"
  newer="$(find src Cargo.toml Cargo.lock -newer "$bin" -print -quit 2>/dev/null || true)"
  if [ ! -x "$bin" ] || [ -n "$newer" ]; then
    if [ -n "$newer" ]; then why="$newer is newer than it"; else why="there is none yet"; fi
    echo "build-image: building $bin ($why)" >&2
    start=$SECONDS
    nice cargo build --release --locked --quiet
    echo "build-image: cargo build --release took $((SECONDS - start)) s" >&2
  else
    echo "build-image: reusing $bin (newer than src/, Cargo.toml, Cargo.lock)" >&2
  fi
fi
[ -x "$bin" ] || { echo "build-image: $bin is not an executable" >&2; exit 1; }
bin="$(readlink -f "$bin")"
server="$(readlink -f "$(command -v redis-server)")"
bash_bin="$(readlink -f /bin/bash)"
certs=/etc/ssl/certs/ca-certificates.crt
[ -r "$certs" ] || { echo "build-image: $certs missing (apt-get install ca-certificates)" >&2; exit 1; }

fingerprint="$(cat "$bin" "$server" "$bash_bin" "$certs" "$0" | sha256sum | cut -c1-16)"
have="$(docker image inspect -f '{{ index .Config.Labels "io.warden.fingerprint" }}' "$tag" 2>/dev/null || true)"
if [ "$have" = "$fingerprint" ]; then
  echo "build-image: $tag is up to date ($fingerprint)" >&2
  exit 0
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$ctx/home/warden"
# The release profile keeps line tables (debug = "line-tables-only"): ~110 MB of the binary.
# The image gets it without debug sections (symbols stay, so backtraces name functions).
if command -v strip >/dev/null; then
  strip --strip-debug -o "$root/warden" "$bin"
else
  cp "$bin" "$root/warden"
fi
# The file name matters: redis picks its mode from argv[0] (Debian's redis-server is a
# symlink to redis-check-rdb).
cp "$server" "$root/usr/local/bin/redis-server"
cp "$bash_bin" "$root/bin/bash"
cp -L "$certs" "$root/etc/ssl/certs/ca-certificates.crt"
for lib in $( (ldd "$bin"; ldd "$server"; ldd "$bash_bin") | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nwarden:x:10001:10001:warden:/home/warden:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nwarden:x:10001:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=10001:10001 home/ /home/
ENV PATH=/usr/local/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt TMPDIR=/tmp HOME=/home/warden
USER 10001:10001
WORKDIR /home/warden
EXPOSE 9121
LABEL io.warden.fingerprint="$fingerprint" org.opencontainers.image.title="warden"
ENTRYPOINT ["/warden"]
DOCKERFILE
# The legacy builder: it needs no buildx plugin and no registry for FROM scratch.
start=$SECONDS
if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>&1)"; then
  echo "$out" >&2
  exit 1
fi
size="$(docker image inspect -f '{{ .Size }}' "$tag")"
echo "build-image: built $tag ($fingerprint, $((size / 1024 / 1024)) MiB) from $bin in $((SECONDS - start)) s" >&2
