#!/usr/bin/env bash
# Builds kustomize from its official Go module into a cache outside the repository.
# Usage: tools/kustomize/build.sh        prints the path of the kustomize binary (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache_root=${KAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator}
out="$cache_root/kustomize/$KUSTOMIZE_VERSION"
if [ -x "$out/kustomize" ]; then
  echo "$out/kustomize"
  exit 0
fi
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
echo "building kustomize $KUSTOMIZE_VERSION ..." >&2
(cd "$here" && go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION" \
  -o "$out/kustomize.tmp" sigs.k8s.io/kustomize/kustomize/v5 && mv "$out/kustomize.tmp" "$out/kustomize")
echo "kustomize built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out/kustomize"
