#!/usr/bin/env bash
# Regenerates go.mod/go.sum for a Kubernetes version: requires k8s.io/kubernetes and replaces each
# staging module (which upstream pins at v0.0.0 => ./staging/...) with its published v0.X.Y tag.
# The list of staging modules is read from k8s.io/kubernetes' own go.mod, never typed by hand.
# Usage: update-gomod.sh v1.35.4
set -euo pipefail
cd "$(dirname "$0")"
version=${1:?usage: update-gomod.sh v1.MINOR.PATCH}
staging_version="v0.${version#v1.}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
upstream_mod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
rm -f go.mod go.sum
go mod init flotilla.dev/e2e/cluster/k8s >/dev/null 2>&1
go mod edit -go=1.25.0 -require="k8s.io/kubernetes@$version"
for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$upstream_mod"); do
  go mod edit -replace="$m=$m@$staging_version"
done
go mod tidy
