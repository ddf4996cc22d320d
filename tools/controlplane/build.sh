#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the official Go modules into a cache outside the repository.
# Usage: tools/controlplane/build.sh        prints the directory holding both binaries (last line of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache_root=${KAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator}
out="$cache_root/controlplane/kubernetes-$KUBERNETES_VERSION-etcd-$ETCD_VERSION"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
echo "building etcd $ETCD_VERSION ..." >&2
(cd "$here/etcd" && go build -trimpath -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3 && mv "$out/etcd.tmp" "$out/etcd")
echo "building kube-apiserver $KUBERNETES_VERSION (several minutes on a cold machine) ..." >&2
(cd "$here/kube-apiserver" && go build -trimpath -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
  -X k8s.io/component-base/version.gitMajor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v([0-9]+)\..*/\1/') \
  -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')" \
  -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver && mv "$out/kube-apiserver.tmp" "$out/kube-apiserver")
echo "control plane built in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
