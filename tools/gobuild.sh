#!/usr/bin/env bash
# Builds Go binaries from pinned official modules into a cache outside the repository, keyed by version;
# a warm cache answers at once without Go. Called by tools/*/build.sh, which know the versions.
# Usage: tools/gobuild.sh <what> <cache-key> <print> <binary> <module-dir> <package> <ldflags> [<binary> ...]
#   <what>       what the progress lines on stderr name, e.g. "control plane"
#   <cache-key>  folder under the cache root, e.g. helm/v3.22.0
#   <print>      "dir": print the folder holding the binaries; a binary's name: print that binary's path
#   then, per binary: its name, the folder of its go.mod, the package to build, the -ldflags ("" for none)
# Prints its answer as the last line of stdout; progress goes to stderr.
# Environment: KAO_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator).
set -euo pipefail
[ $# -ge 7 ] && [ $(( ($# - 3) % 4 )) -eq 0 ] || { sed -n 4,8p "$0" >&2; exit 2; }
what=$1 key=$2 print=$3
shift 3
out="${KAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/keepalived-operator}/$key"
answer() { if [ "$print" = dir ]; then echo "$out"; else echo "$out/$print"; fi; }

missing=()
for ((i = 1; i <= $#; i += 4)); do
  [ -x "$out/${!i}" ] || missing+=("$i")
done
if [ ${#missing[@]} -eq 0 ]; then
  answer
  exit 0
fi
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
args=("$@")
for i in "${missing[@]}"; do
  binary=${args[i - 1]} dir=${args[i]} package=${args[i + 1]} ldflags=${args[i + 2]}
  echo "building $binary into $out (minutes on a cold machine) ..." >&2
  (cd "$dir" && go build -trimpath ${ldflags:+-ldflags "$ldflags"} -o "$out/$binary.tmp" "$package" &&
    mv "$out/$binary.tmp" "$out/$binary")
done
echo "$what built in $(( $(date +%s) - start ))s into $out" >&2
answer
