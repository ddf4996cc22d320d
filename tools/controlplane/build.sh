#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the official Go modules into a cache outside the repository.
# Usage: tools/controlplane/build.sh        prints the directory holding both binaries (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
major=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v([0-9]+)\..*/\1/')
minor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')
version=k8s.io/component-base/version
exec "$here/../gobuild.sh" "control plane" "controlplane/kubernetes-$KUBERNETES_VERSION-etcd-$ETCD_VERSION" dir \
  etcd "$here/etcd" go.etcd.io/etcd/server/v3 "" \
  kube-apiserver "$here/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
  "-s -w -X $version.gitVersion=$KUBERNETES_VERSION -X $version.gitMajor=$major -X $version.gitMinor=$minor"
