#!/usr/bin/env bash
# Builds the kubelet lab's two small images without a registry or a container engine (as images/build.sh does):
#   kao.local/pause:1      the Pod sandbox image of the lab's containerd (sandbox_image), from tools/cluster/images/pause
#   kao.local/demo-http:1  the walkthrough's demo Pods: answers "<pod> on <node>", from tools/cluster/images/demo-http
# Each is one static Go binary in one layer, packed with umoci into an OCI archive whose index names the image
# by its full reference (what `ctr -n k8s.io images import`, `podman load` and skopeo read). Cached by source hash.
# Usage: images/lab-images.sh     prints "<name> <archive>" per image (the last two lines of stdout).
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
src="$repo/tools/cluster/images"
cache="${KAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator}/image"
command -v umoci >/dev/null 2>&1 || {
  echo "lab-images: umoci is missing: run scripts/setup.sh (or apt-get install umoci)" >&2
  exit 1
}
hash=$(cd "$src" && cat go.mod pause/main.go demo-http/main.go | sha256sum | cut -c1-16)
bin=$("$repo/tools/gobuild.sh" "lab images" "cluster/lab-images-$hash" dir \
  pause "$src" ./pause "-s -w" \
  demo-http "$src" ./demo-http "-s -w" | tail -n1)
mkdir -p "$cache"
exec 9>"$cache/.lab-images.lock"
flock 9
for name in pause demo-http; do
  ref="kao.local/$name:1"
  archive="$cache/kao-lab-$name-$hash.oci.tar"
  if [ ! -f "$archive" ]; then
    layout="$cache/kao-lab-$name.tmp"
    rootfs="$cache/kao-lab-$name.rootfs"
    rm -rf "$layout" "$rootfs"
    mkdir -p "$rootfs"
    install -m 0755 "$bin/$name" "$rootfs/$name"
    umoci init --layout "$layout"
    umoci new --image "$layout:build"
    umoci insert --image "$layout:build" --history.created_by "tools/cluster/images/$name (images/lab-images.sh)" \
      "$rootfs" / >&2
    umoci config --image "$layout:build" --tag "$ref" --created 1970-01-01T00:00:00Z \
      --config.entrypoint "/$name" --config.user 65532:65532 --history.created_by "umoci config" >&2
    umoci rm --image "$layout:build"
    umoci gc --layout "$layout"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$archive.tmp" \
      oci-layout index.json blobs
    mv "$archive.tmp" "$archive"
    rm -rf "$layout" "$rootfs"
    echo "lab-images: built $ref into $archive" >&2
  fi
  echo "$ref $archive"
done
