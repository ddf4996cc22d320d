#!/usr/bin/env bash
# Builds helm from its official Go module into a cache outside the repository.
# Usage: tools/helm/build.sh        prints the path of the helm binary (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
exec "$here/../gobuild.sh" helm "helm/$HELM_VERSION" helm \
  helm "$here" helm.sh/helm/v3/cmd/helm "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
