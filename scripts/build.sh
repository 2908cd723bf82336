#!/usr/bin/env bash
# Configures (once) and builds Ferry in ./build, or in $FERRY_BUILD_DIR.
#
#   scripts/build.sh [extra meson setup options]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ ! -f "$build/build.ninja" ]; then
  if ! meson setup "$build" "$root" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "build.sh: meson setup failed" >&2
    exit 1
  fi
fi
if ! ninja -C "$build" >"$log" 2>&1; then
  cat "$log" >&2
  echo "build.sh: the build failed" >&2
  exit 1
fi
echo "Built ferry in $build"
