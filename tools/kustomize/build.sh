#!/usr/bin/env bash
# Builds kustomize from its official Go module into a cache outside the repository.
# Usage: tools/kustomize/build.sh        prints the path of the kustomize binary (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
exec "$here/../gobuild.sh" kustomize "kustomize/$KUSTOMIZE_VERSION" kustomize \
  kustomize "$here" sigs.k8s.io/kustomize/kustomize/v5 \
  "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION"
