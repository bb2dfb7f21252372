#!/usr/bin/env bash
# Builds, once, the kind binary and a kind node image for the project's Kubernetes version, entirely
# on this machine (no image is pulled): kind and the Go programs from the Go module proxy, the
# Kubernetes binaries with ../build.sh, containerd/runc/CNI from Debian's packages, the base from the
# debootstrap root filesystem. Everything goes into a version-keyed folder under ~/.cache/flotilla
# and into the kind cluster's own Podman storage (FLOTILLA_PODMAN_DIR, set by the caller).
# Prints each phase with its time; the last two lines are the kind binary and the node image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root_dir=$(cd "$here/../../.." && pwd)
# shellcheck source=../versions.env
source "$here/../versions.env"
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../../../scripts/podman-env.sh
source "$root_dir/scripts/podman-env.sh"
step() { printf '[kind build %4ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
fail() { echo "kind build: $*" >&2; exit 1; }
require_root_and_podman

key="kind-$KIND_VERSION-k8s-$KUBERNETES_VERSION"
dir="$cache_root/$key"
bin="$dir/bin"
# The images' tag changes with the versions and with any file the images are made from.
recipe_hash=$(cat "$here/build.sh" "$here/base.Containerfile" "$here/cni/"* "$here/../pause.c" | sha256sum | cut -c1-10)
kind_tag=$KUBERNETES_VERSION-kind-$KIND_VERSION-$recipe_hash
node_image="localhost/flotilla-kind-node:$kind_tag"
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0

go_install() { # name module/cmd@version
  if [ -x "$bin/$1" ]; then step "$1: cached"; return; fi
  step "$1: go install $2"
  (cd /tmp && GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$2") || fail "building $1 failed"
  step "$1: built"
}

# One image from a Containerfile on stdin, with the files named after it copied into its context.
image_from() { # tag file...
  local tag=$1 ctx
  shift
  if [ "$(podman image inspect --format '{{index .Labels "dev.flotilla.kind-recipe"}}' "$tag" 2>/dev/null)" = "$recipe_hash" ]; then
    step "image $tag: present"
    return
  fi
  ctx=$(mktemp -d /var/tmp/flotilla-kind-image.XXXXXX)
  cat >"$ctx/Containerfile"
  [ $# -eq 0 ] || cp -r "$@" "$ctx/"
  podman build --quiet --pull=never --network=host --label "dev.flotilla.kind-recipe=$recipe_hash" -t "$tag" "$ctx" >/dev/null ||
    { rm -rf "$ctx"; fail "building $tag failed; podman's output is above"; }
  rm -rf "$ctx"
  step "image $tag: built"
}

started=$(date +%s)
if podman image exists "$node_image" && [ -x "$bin/kind" ]; then
  step "node image $node_image and kind $KIND_VERSION: cached"
  echo "$bin/kind"
  echo "$node_image"
  exit 0
fi

step "phase 1/5: programs from the Go module proxy"
go_install kind "sigs.k8s.io/kind@$KIND_VERSION"
go_install crictl "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION"
go_install local-path-provisioner "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"

step "phase 2/5: Kubernetes binaries (../build.sh --kind)"
k8s_bin=$(bash "$here/../build.sh" --kind | tail -1)

step "phase 3/5: kind's base image from Debian's packages"
kind_module=$(cd /tmp && GOFLAGS= go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
if ! podman image exists "localhost/debian:$debian_suite-slim"; then
  podman import "$(debian_rootfs_tarball)" "localhost/debian:$debian_suite-slim" >/dev/null
fi
base_image="localhost/flotilla-kind-base:$kind_tag"
if podman image exists "$base_image"; then
  step "image $base_image: present"
else
  ctx=$(mktemp -d /var/tmp/flotilla-kind-base.XXXXXX)
  cp -r "$kind_module/images/base/files/." "$ctx/"
  chmod -R u+w "$ctx"
  cp "$bin/crictl" "$ctx/"
  podman build --quiet --pull=never --network=host -t "$base_image" -f "$here/base.Containerfile" "$ctx" >/dev/null ||
    { rm -rf "$ctx"; fail "building the base image failed; podman's output is above"; }
  rm -rf "$ctx"
  step "image $base_image: built"
fi

step "phase 4/5: the images the node runs, built here under the names kubeadm and kind expect"
k8s=registry.k8s.io
for component in kube-apiserver kube-controller-manager kube-scheduler; do
  image_from "$k8s/$component:$KUBERNETES_VERSION" "$k8s_bin/$component" <<CONTAINERFILE
FROM scratch
COPY $component /usr/local/bin/$component
ENV PATH=/usr/local/bin
ENTRYPOINT ["/usr/local/bin/$component"]
CONTAINERFILE
done
net_image="localhost/flotilla-kind-debian-net:$kind_tag"
image_from "$net_image" <<CONTAINERFILE
FROM localhost/debian:$debian_suite-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iptables iproute2 conntrack kmod && apt-get clean && rm -rf /var/lib/apt/lists/*
CONTAINERFILE
image_from "$k8s/kube-proxy:$KUBERNETES_VERSION" "$k8s_bin/kube-proxy" <<CONTAINERFILE
FROM $net_image
COPY kube-proxy /usr/local/bin/kube-proxy
CONTAINERFILE
# etcd: the local control plane's own (../versions.env), not a second build of the version kubeadm
# names; kind.ts tells kubeadm its tag (ClusterConfiguration etcd.local.imageTag).
image_from "$k8s/etcd:${ETCD_VERSION#v}-0" "$k8s_bin/etcd" <<CONTAINERFILE
FROM scratch
COPY etcd /usr/local/bin/etcd
ENV PATH=/usr/local/bin
CONTAINERFILE
image_from "$k8s/coredns/coredns:$COREDNS_VERSION" "$bin/coredns" <<CONTAINERFILE
FROM scratch
COPY coredns /coredns
ENTRYPOINT ["/coredns"]
CONTAINERFILE
if [ ! -x "$dir/pause/pause" ]; then
  mkdir -p "$dir/pause"
  gcc -static -Os -s -o "$dir/pause/pause" "$here/../pause.c" || fail "building pause failed (apt-get install gcc)"
fi
image_from "$k8s/pause:3.10.1" "$dir/pause/pause" <<CONTAINERFILE
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
CONTAINERFILE
podman tag "$k8s/pause:3.10.1" "$k8s/pause:3.10" # containerd's sandbox_image in kind's config
image_from "localhost/flotilla-kind-pod-network:$kind_tag" "$here/cni/pod-network.sh" "$k8s_bin/kubectl" <<CONTAINERFILE
FROM $net_image
COPY kubectl /usr/local/bin/kubectl
COPY pod-network.sh /usr/local/bin/pod-network.sh
ENTRYPOINT ["/usr/local/bin/pod-network.sh"]
CONTAINERFILE
image_from "localhost/flotilla-kind-local-path-provisioner:$kind_tag" "$bin/local-path-provisioner" <<CONTAINERFILE
FROM scratch
COPY local-path-provisioner /usr/local/bin/local-path-provisioner
ENTRYPOINT ["/usr/local/bin/local-path-provisioner"]
CONTAINERFILE
image_from "localhost/flotilla-kind-local-path-helper:$kind_tag" <<CONTAINERFILE
FROM localhost/debian:$debian_suite-slim
CONTAINERFILE

step "phase 5/5: the node image (kind's build steps: binaries, manifests, images preloaded into containerd)"
builder="flotilla-kind-build-$$"
podman rm -f "$builder" >/dev/null 2>&1 || true
podman run -d --name "$builder" --privileged --network=none --entrypoint sleep "$base_image" infinity >/dev/null
trap 'podman rm -f -v "$builder" >/dev/null 2>&1 || true' EXIT
in_node() { podman exec -i "$builder" "$@"; }
for program in kubeadm kubelet kubectl; do
  podman cp "$k8s_bin/$program" "$builder:/usr/bin/$program"
done
in_node sh -c 'chown root:root /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl && mkdir -p /kind/manifests'
printf '%s' "$KUBERNETES_VERSION" | in_node sh -c 'cat >/kind/version'
sed "s/KIND_IMAGE_TAG/$kind_tag/" "$here/cni/pod-network.yaml" | in_node sh -c 'cat >/kind/manifests/default-cni.yaml'
# kind's own storage manifest, taken from its source, with the images built above.
sed -n '/^const defaultStorageManifest = `/,/^`/p' "$kind_module/pkg/build/nodeimage/const_storage.go" | sed '1d;$d' |
  sed -e "s#\` + storageProvisionerImage + \`#localhost/flotilla-kind-local-path-provisioner:$kind_tag#" \
    -e "s#\` + storageHelperImage + \`#localhost/flotilla-kind-local-path-helper:$kind_tag#" |
  in_node sh -c 'cat >/kind/manifests/default-storage.yaml'
in_node bash -c 'nohup containerd >/dev/null 2>&1 &'
in_node bash -c 'for i in $(seq 50); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1' ||
  fail "containerd did not start in the build container"
images=("$k8s/kube-apiserver:$KUBERNETES_VERSION" "$k8s/kube-controller-manager:$KUBERNETES_VERSION"
  "$k8s/kube-scheduler:$KUBERNETES_VERSION" "$k8s/kube-proxy:$KUBERNETES_VERSION" "$k8s/etcd:${ETCD_VERSION#v}-0"
  "$k8s/coredns/coredns:$COREDNS_VERSION" "$k8s/pause:3.10.1" "$k8s/pause:3.10"
  "localhost/flotilla-kind-pod-network:$kind_tag" "localhost/flotilla-kind-local-path-provisioner:$kind_tag"
  "localhost/flotilla-kind-local-path-helper:$kind_tag")
podman save -m --format docker-archive "${images[@]}" |
  in_node ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --no-unpack --digests - >/dev/null ||
  fail "importing the images into the node's containerd failed"
in_node pkill containerd || true
podman commit --quiet --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  "$builder" "$node_image" >/dev/null
# Images of earlier recipes go (the kind storage holds only what this build made and the base).
podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/flotilla-kind-[a-z-]+:' | grep -v ":$kind_tag\$" |
  xargs -r podman rmi >/dev/null 2>&1 || true
remove_empty_podman_cgroups
step "node image $node_image: built ($(podman image inspect --format '{{.Size}}' "$node_image" | awk '{printf "%d MB", $1/1e6}'))"
echo "$bin/kind"
echo "$node_image"
