#!/usr/bin/env bash
# Installs the Debian 12 packages Ferry needs, only those that are missing.
#
#   scripts/install-deps.sh [--build | --test | --sanitize]
#
# --build (default): what building and running ferry needs.
# --test: also what the tests, the benchmarks and the API reference use
#         (coturn, dhtnode, iproute2, iptables, valgrind, gi-docgen, GTK 4
#         with Xvfb for the example, ...).
# --sanitize: also what the sanitizer and fuzzing runs of CI use (clang and
#         its libFuzzer runtime).
set -euo pipefail

mode=${1:---build}

build_packages=(
  gcc libc6-dev meson ninja-build pkg-config gettext
  libglib2.0-dev libgnutls28-dev nettle-dev libjson-glib-dev
  libsoup-3.0-dev libnice-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev
  gobject-introspection libgirepository1.0-dev
  jq openssl libssl-dev
)
# The GTK example and its real-display test: gtk4, libadwaita, Xvfb, a
# session bus.
test_packages=(coturn dhtnode iproute2 iptables valgrind python3-gi gi-docgen bash-completion
  libgtk-4-dev libadwaita-1-dev xvfb xauth dbus dbus-x11 libglib2.0-bin)
sanitize_packages=(clang libclang-rt-14-dev)

case "$mode" in
  --build) packages=("${build_packages[@]}") ;;
  --test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  --sanitize) packages=("${build_packages[@]}" "${test_packages[@]}" "${sanitize_packages[@]}") ;;
  -h|--help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *)
    echo "install-deps.sh: unknown option '$mode' (use --build, --test or --sanitize)" >&2
    exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps.sh: run as root or install sudo to install: ${missing[*]}" >&2
  exit 1
fi

echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
