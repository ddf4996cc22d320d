#!/usr/bin/env bash
# Builds helm from its official Go module into a cache outside the repository.
# Usage: tools/helm/build.sh        prints the path of the helm binary (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache_root=${KAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator}
out="$cache_root/helm/$HELM_VERSION"
if [ -x "$out/helm" ]; then
  echo "$out/helm"
  exit 0
fi
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
echo "building helm $HELM_VERSION (a few minutes on a cold machine) ..." >&2
(cd "$here" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  -o "$out/helm.tmp" helm.sh/helm/v3/cmd/helm && mv "$out/helm.tmp" "$out/helm")
echo "helm built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out/helm"
