#!/usr/bin/env bash
# Builds the node and controller components of the kubelet lab from the official Go modules, the same Kubernetes
# version as tools/controlplane (kube-controller-manager, kube-scheduler, kubelet, kube-proxy), into a cache
# outside the repository. go.mod: tools/cluster/kubernetes (tools/controlplane/kube-apiserver's, plus these mains).
# Usage: tools/cluster/build.sh        prints the directory holding the four binaries (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../controlplane/versions.env
. "$here/../controlplane/versions.env"
major=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v([0-9]+)\..*/\1/')
minor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')
version=k8s.io/component-base/version
ldflags="-s -w -X $version.gitVersion=$KUBERNETES_VERSION -X $version.gitMajor=$major -X $version.gitMinor=$minor"
mod="$here/kubernetes"
exec "$here/../gobuild.sh" "cluster components" "cluster/kubernetes-$KUBERNETES_VERSION" dir \
  kube-controller-manager "$mod" k8s.io/kubernetes/cmd/kube-controller-manager "$ldflags" \
  kube-scheduler "$mod" k8s.io/kubernetes/cmd/kube-scheduler "$ldflags" \
  kubelet "$mod" k8s.io/kubernetes/cmd/kubelet "$ldflags" \
  kube-proxy "$mod" k8s.io/kubernetes/cmd/kube-proxy "$ldflags"
