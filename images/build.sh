#!/usr/bin/env bash
# Builds the keepalived-operator image without a registry or a container engine, as root on Debian:
#   base layer: a Debian bookworm root filesystem (debootstrap --variant=minbase) + keepalived, iproute2, nftables, curl,
#               ca-certificates, from the Debian mirror this machine uses; cached, rebuilt only when the
#               package list changes;
#   app layer:  this machine's Node.js binary, dist/src, bin/, package.json and production node_modules under
#               /opt/keepalived-operator, with the wrapper /usr/local/bin/keepalived-operator (the same layout
#               as images/Dockerfile);
# packed with umoci into an OCI image layout and an OCI archive (.tar, for `skopeo copy oci-archive:…`,
# `podman load`, `ctr images import`).
# Usage: images/build.sh        prints the archive's path (last line of stdout); progress goes to stderr.
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator),
#              KAO_IMAGE_REPOSITORY (default quay.io/redhat-cop/keepalived-operator-ts, as deploy/ and the agent default),
#              KAO_DEBIAN_MIRROR, KAO_DEBIAN_SECURITY_MIRROR (default: read from /etc/apt/sources.list*).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${KAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator}
cache="$cache_root/image"
suite=bookworm
packages="keepalived iproute2 nftables curl ca-certificates"
start=$(date +%s)
log() { echo "image: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "run as root (debootstrap and chroot need it)"; exit 1; }
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$cache"
# One build at a time per cache: the rootfs, staging and layout directories are shared.
exec 9>"$cache/.lock"
flock 9

# The first http(s) URI of a sources entry (one-line or deb822 format) whose suites include $1.
mirror_for() {
  local f files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  cat "${files[@]}" |
    awk -v want="$1" '
      /^[[:space:]]*deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /=/ && $i !~ /\]$/) break
                                      if ($(i + 1) == want) { print $i; exit } next }
      /^URIs:/   { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want && uri != "") { print uri; exit } }
      /^[[:space:]]*$/ { uri = "" }'
}
mirror=${KAO_DEBIAN_MIRROR:-$(mirror_for "$suite")}
mirror=${mirror:-http://deb.debian.org/debian}
security=${KAO_DEBIAN_SECURITY_MIRROR:-$(mirror_for "$suite-security")}
security=${security:-${mirror%/debian}/debian-security}

# --- base layer: the Debian root filesystem -------------------------------------------------------------
# Bump recipe when the steps below change what they produce.
recipe=3
hash=$(printf '%s minbase %s recipe %s\n' "$suite" "$packages" "$recipe" | sha256sum | cut -c1-16)
rootfs="$cache/rootfs-$hash"
# Each cached directory is built under <name>.tmp and renamed when done: if it exists, it is complete.
if [ ! -d "$rootfs" ]; then
  log "building the $suite root filesystem ($packages) from $mirror; a few minutes, once"
  tmp="$rootfs.tmp"
  # A crashed earlier build may have left /proc mounted in its tree: never rm -rf through a mount.
  ! mountpoint -q "$tmp/proc" 2>/dev/null || umount "$tmp/proc"
  rm -rf "$tmp"
  debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >&2
  cat >"$tmp/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
  # As debian:bookworm-slim: no documentation, manual pages or translations (about 50 MB).
  printf 'path-exclude /usr/share/%s/*\n' doc man groff info lintian linda locale >"$tmp/etc/dpkg/dpkg.cfg.d/slim"
  echo 'path-include /usr/share/doc/*/copyright' >>"$tmp/etc/dpkg/dpkg.cfg.d/slim"
  (
    cd "$tmp/usr/share" # a subshell in the new tree: nothing here can touch the host's /usr/share
    [ "$(pwd -P)" = "$tmp/usr/share" ] || exit 1
    find doc -mindepth 1 ! -type d ! -name copyright -delete
    find doc -mindepth 1 -type d -empty -delete
    rm -rf man/* groff/* info/* lintian/* linda/* locale/*
  )
  # No daemon may start inside the build chroot (keepalived's postinst would try).
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod 755 "$tmp/usr/sbin/policy-rc.d"
  mount -t proc proc "$tmp/proc"
  trap 'umount "$tmp/proc" 2>/dev/null || true' EXIT
  chroot "$tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq && apt-get upgrade -y -qq && apt-get install -y -qq --no-install-recommends $packages" >&2
  umount "$tmp/proc"
  trap - EXIT
  rm -f "$tmp/usr/sbin/policy-rc.d"
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/* "$tmp"/var/cache/debconf/*-old \
    "$tmp"/var/log/* "$tmp"/tmp/* "$tmp"/root/.bash_history
  # debootstrap copied the host's; the container runtime provides its own.
  rm -f "$tmp/etc/resolv.conf" "$tmp/etc/hostname"
  touch "$tmp/etc/resolv.conf" "$tmp/etc/hostname"
  chroot "$tmp" dpkg-query -W -f '${Package} ${Version}\n' >"$cache/rootfs-$hash.packages"
  mv "$tmp" "$rootfs"
  log "root filesystem ready after $(($(date +%s) - start))s"
fi

# --- OCI layout holding the base layer (cached with the rootfs) -------------------------------------------
base="$cache/base-$hash"
if [ ! -d "$base" ]; then
  log "packing the base layer"
  rm -rf "$base.tmp"
  umoci init --layout "$base.tmp"
  umoci new --image "$base.tmp:base"
  umoci insert --image "$base.tmp:base" --history.created_by "debootstrap --variant=minbase $suite + $packages" \
    "$rootfs" / >&2
  mv "$base.tmp" "$base"
fi

# --- app layer ------------------------------------------------------------------------------------------
node_bin=$(readlink -f "$(command -v node)")
case "$("$node_bin" --version)" in
  v20.*) ;;
  *) log "node $("$node_bin" --version) at $node_bin: the image needs Node.js 20"; exit 1 ;;
esac
if [ ! -f "$repo/dist/src/cli/main.js" ] ||
  [ -n "$(find "$repo/src" -name '*.ts' -newer "$repo/dist/src/cli/main.js" -print -quit)" ]; then
  log "compiling TypeScript"
  (cd "$repo" && npx tsc -p tsconfig.json) >&2
fi
lock_hash=$( (cat "$repo/package.json" "$repo/package-lock.json"; "$node_bin" --version) | sha256sum | cut -c1-16)
modules="$cache/node_modules-$lock_hash"
if [ ! -d "$modules" ]; then
  log "installing production npm dependencies"
  rm -rf "$modules.tmp"
  mkdir -p "$modules.tmp"
  cp "$repo/package.json" "$repo/package-lock.json" "$modules.tmp/"
  (cd "$modules.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  # Type declarations and source maps are never loaded at run time.
  find "$modules.tmp/node_modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.[cm]ts' \) -delete
  mv "$modules.tmp" "$modules"
fi
app="$cache/app"
rm -rf "$app"
opt="$app/opt/keepalived-operator"
mkdir -p "$opt/dist" "$app/usr/local/bin"
cp -R "$repo/bin" "$repo/package.json" "$opt/"
cp -R "$repo/dist/src" "$opt/dist/src"
cp -R "$modules/node_modules" "$opt/node_modules"
cp "$node_bin" "$app/usr/local/bin/node"
cp "$repo/images/keepalived-operator.sh" "$app/usr/local/bin/keepalived-operator"
chmod -R u=rwX,go=rX "$app"
chmod 755 "$app/usr/local/bin/node" "$app/usr/local/bin/keepalived-operator"
chown -R 0:0 "$app"

# --- the image: base + app layer + config ---------------------------------------------------------------
version=$("$node_bin" -p 'require(process.argv[1]).version' "$repo/package.json")
# The index names the image by its full reference (org.opencontainers.image.ref.name), so `podman load`,
# skopeo and `ctr images import` all see the name the manifests use (a bare "0.1.0" loads as localhost/0.1.0:latest).
repository=${KAO_IMAGE_REPOSITORY:-quay.io/redhat-cop/keepalived-operator-ts}
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$repo" diff --quiet HEAD -- src bin package.json package-lock.json 2>/dev/null || revision="$revision-dirty"
created=$(date -u -d "@$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)" +%Y-%m-%dT%H:%M:%SZ)
layout="$cache/oci"
rm -rf "$layout"
cp -a "$base" "$layout"
umoci insert --image "$layout:base" --history.created_by "keepalived-operator $version (images/build.sh)" \
  "$app" / >&2
umoci config --image "$layout:base" --tag "$repository:$version" \
  --created "$created" \
  --config.user 0:0 \
  --config.entrypoint /usr/local/bin/keepalived-operator \
  --config.workingdir / \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env NODE_ENV=production \
  --config.label "org.opencontainers.image.title=keepalived-operator" \
  --config.label "org.opencontainers.image.description=Floating IPs for type: LoadBalancer Services with keepalived (VRRP): controller and node agent" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label "org.opencontainers.image.licenses=Apache-2.0" \
  --history.created_by "umoci config (images/build.sh)" >&2
umoci rm --image "$layout:base"
umoci gc --layout "$layout"
archive="$cache/keepalived-operator-$version.oci.tar"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go+rX -C "$layout" -cf "$archive.tmp" \
  oci-layout index.json blobs
mv "$archive.tmp" "$archive"
log "built $archive ($(du -h "$archive" | cut -f1) compressed, $(du -sh --apparent-size "$rootfs" | cut -f1) base + $(du -sh --apparent-size "$app" | cut -f1) app unpacked) in $(($(date +%s) - start))s"
echo "$archive"
