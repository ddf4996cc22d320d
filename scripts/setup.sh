#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) for the tests and the lab; fast when everything is already there.
# Usage: scripts/setup.sh           what `npm run lab` and the tests need first (packages, npm, control plane);
#                                   helm, kustomize and the images are built when first used
#        scripts/setup.sh kubelet   only what the kubelet lab adds (`lab up --kubelet`, test/e2e/kubelet.test.ts;
#                                   they run it themselves): containerd, runc, the CNI plugins, the cluster
#                                   components, the lab images and the operator's image. Prints, one per line:
#                                   "cluster-bin <dir>", "helm <binary>", then "image <reference> <archive>"
#                                   per image.
#        scripts/setup.sh image     only what the image test adds (test/image/image.test.ts runs it): podman and
#                                   skopeo, which read the archive's name, and the operator's image. Prints
#                                   the archive's path (last line).
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs the Debian packages of the commands named "<command>:<package>" that are missing.
need_packages() {
  local need=() cmd
  for cmd in "$@"; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || [ -x "${cmd%%:*}" ] || need+=("${cmd#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

if [ "${1:-}" = kubelet ]; then
  need_packages containerd:containerd ctr:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins \
    iptables:iptables nsenter:util-linux umoci:umoci debootstrap:debootstrap
  echo "cluster-bin $(tools/cluster/build.sh | tail -n1)"
  echo "helm $(tools/helm/build.sh | tail -n1)"
  images/lab-images.sh | tail -n2 | sed 's/^/image /'
  echo "image quay.io/redhat-cop/keepalived-operator-ts:$(node -p 'require("./package.json").version') $(images/build.sh | tail -n1)"
  exit 0
fi

if [ "${1:-}" = image ]; then
  need_packages podman:podman skopeo:skopeo umoci:umoci debootstrap:debootstrap
  images/build.sh | tail -n1
  exit 0
fi

need_packages keepalived:keepalived ip:iproute2 nft:nftables ping:iputils-ping promtool:prometheus curl:curl debootstrap:debootstrap umoci:umoci \
  stress-ng:stress-ng
# A symlinked node_modules belongs to another checkout (a git worktree sharing it): npm ci would empty that
# checkout's through the link, so it is left alone.
if [ -L node_modules ]; then
  echo "setup: node_modules is a link to $(readlink node_modules): not reinstalled from here" >&2
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
echo "setup: control plane binaries in $(tools/controlplane/build.sh)" >&2
# helm, kustomize and the images are built by what uses them (the install test, the image test, the kubelet
# lab), from the same cached scripts: the first `npm run lab` does not wait for them.
npm run build --silent >&2
