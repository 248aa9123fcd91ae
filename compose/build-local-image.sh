#!/usr/bin/env bash
# Builds the Redis image warden's docker lab and compose stack run, offline: no registry is
# needed. The image is `FROM scratch` with the host's redis-server (also run as
# redis-sentinel: same binary, the mode follows argv[0]), redis-cli for health checks, dash
# as /bin/sh (the compose file's Sentinels write their config with shell built-ins), the
# shared libraries `ldd` lists plus the dynamic loader, an /etc/passwd entry and /data.
#
# Idempotent: the image carries a fingerprint of the binaries and of this script and is not
# rebuilt while they are unchanged. Without a Docker engine it prints why and exits 0, so
# `.ci/run` on a machine without Docker still runs the rest.
#
# Usage: compose/build-local-image.sh [TAG]   (default warden-redis:local)
set -euo pipefail
tag="${1:-warden-redis:local}"
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "build-local-image: no Docker engine reachable; skipping $tag" >&2
  exit 0
fi
server="$(readlink -f "$(command -v redis-server)")"
cli="$(readlink -f "$(command -v redis-cli)")"
shell="$(readlink -f /bin/sh)"
fingerprint="$(cat "$server" "$cli" "$shell" "$0" | sha256sum | cut -c1-16)"
have="$(docker image inspect -f '{{ index .Config.Labels "io.warden.fingerprint" }}' "$tag" 2>/dev/null || true)"
if [ "$have" = "$fingerprint" ]; then
  echo "build-local-image: $tag is up to date ($fingerprint)" >&2
  exit 0
fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/data" "$root/etc" "$root/tmp" "$root/bin"
# The file name matters: redis picks its mode from argv[0] (Debian's redis-server is a
# symlink to redis-check-rdb, which would start the RDB checker).
cp "$server" "$root/usr/local/bin/redis-server"
cp "$cli" "$root/usr/local/bin/redis-cli"
ln -s redis-server "$root/usr/local/bin/redis-sentinel"
cp "$shell" "$root/bin/sh"
for lib in $( (ldd "$server"; ldd "$cli"; ldd "$shell") | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nredis:x:999:999:redis:/data:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nredis:x:999:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/bin
WORKDIR /data
VOLUME /data
EXPOSE 6379 26379
LABEL io.warden.fingerprint="$fingerprint"
CMD ["redis-server"]
DOCKERFILE
# The legacy builder: it needs no buildx plugin and no registry for FROM scratch.
if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>&1)"; then
  echo "$out" >&2
  exit 1
fi
echo "build-local-image: built $tag ($fingerprint) from $server" >&2
