#!/usr/bin/env bash
# Builds the local control plane's programs once into a version-keyed cache folder and prints
# that folder's bin/ path on the last line. Binaries already built at the right version are kept.
# With --real-node it also builds the kubelet and kube-proxy of a real node (`up --real-node`); with
# --kind those and kubeadm, for the kind node image (e2e/cluster/kind-image/build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

etcd_required=$(sed -n 's#^\s*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$here/k8s/go.mod")
if [ "$etcd_required" != "$ETCD_VERSION" ]; then
  echo "versions.env says etcd $ETCD_VERSION but k8s/go.mod pins $etcd_required; run k8s/update-gomod.sh" >&2
  exit 1
fi

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/flotilla
key="k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-helm-$HELM_VERSION"
bin="$cache_root/cluster-$key/bin"
mkdir -p "$bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
started=$(date +%s)
step() { printf '[cluster build %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }

minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build_k8s() { # name package [version-check-args] [expected]
  local name=$1 pkg=$2
  if [ -x "$bin/$name" ] && [ -f "$bin/.$name.built" ]; then
    step "$name: cached"
    return
  fi
  step "$name: building $pkg (the first build of the control plane takes 15-40 minutes on 2 cores)"
  (cd "$here/k8s" && go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  touch "$bin/.$name.built"
  step "$name: built"
}

install_go_tool() { # name module@version/cmd
  local name=$1 pkg=$2
  if [ -x "$bin/$name" ] && [ -f "$bin/.$name.built" ]; then
    step "$name: cached"
    return
  fi
  step "$name: go install $pkg"
  GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$pkg"
  touch "$bin/.$name.built"
  step "$name: built"
}

build_k8s etcd go.etcd.io/etcd/server/v3
build_k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build_k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build_k8s kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
build_k8s kubectl k8s.io/kubernetes/cmd/kubectl
if [ "${1:-}" = --real-node ] || [ "${1:-}" = --kind ]; then
  build_k8s kubelet k8s.io/kubernetes/cmd/kubelet
  build_k8s kube-proxy k8s.io/kubernetes/cmd/kube-proxy
fi
if [ "${1:-}" = --kind ]; then
  build_k8s kubeadm k8s.io/kubernetes/cmd/kubeadm
fi
install_go_tool kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
install_go_tool kwokctl "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
install_go_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
default_stages="$bin/../kwok-default-stages"
if [ ! -f "$default_stages/.copied" ]; then
  step "kwok default stages: copying from sigs.k8s.io/kwok@$KWOK_VERSION"
  kwok_dir=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$default_stages"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cp "$kwok_dir/kustomize/stage/$f" "$default_stages/"
  done
  chmod u+w "$default_stages"/*.yaml
  touch "$default_stages/.copied"
fi
step "all programs ready in $bin"
echo "$bin"
