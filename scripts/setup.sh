#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) for the tests and the lab; fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for cmd in keepalived:keepalived ip:iproute2 ping:iputils-ping promtool:prometheus curl:curl debootstrap:debootstrap umoci:umoci stress-ng:stress-ng; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
echo "setup: control plane binaries in $(tools/controlplane/build.sh)" >&2
echo "setup: kustomize in $(tools/kustomize/build.sh), helm in $(tools/helm/build.sh)" >&2
npm run build --silent >&2
