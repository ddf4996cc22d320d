#!/usr/bin/env bash
# Regenerates kube-apiserver/go.mod and etcd/go.mod for the versions in versions.env.
# k8s.io/kubernetes requires its staging modules as v0.0.0; they are pinned to the matching v0.x.y here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
staging=v0.${KUBERNETES_VERSION#v1.}
modfile=$(cd "$here/kube-apiserver" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
goversion=$(sed -n 's/^go \(.*\)/\1/p' "$modfile")
{
  echo "module keepalived-operator/tools/controlplane/kube-apiserver"
  echo
  echo "go $goversion"
  echo
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo
  echo "replace ("
  grep -E '^\s+k8s.io/[a-z0-9-]+ v0\.0\.0\s*$' "$modfile" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > "$here/kube-apiserver/go.mod"
(cd "$here/kube-apiserver" && go mod tidy)
cat > "$here/etcd/go.mod" <<MOD
module keepalived-operator/tools/controlplane/etcd

go $goversion

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
(cd "$here/etcd" && go mod tidy)
