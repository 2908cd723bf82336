#!/usr/bin/env bash
# Benchmark: offer-to-answer round trips of the dht signaling through two
# OpenDHT proxies on loopback (a private two-node dhtnode network the
# benchmark starts and stops), median and worst of N rounds (default 50).
#
#   bench/dht-rtt.sh [ROUNDS]
#
#   offer → answer    ferry_engine_send() until the sender has the sealed
#                     answer and starts connecting
#   send → accepted   until the receiver accepted, over lan and TLS 1.3
#   signaling RTT     a 3 KiB blob plugin to plugin and back
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh" >/dev/null

export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=
exec "$build/tests/bench-dht-rtt" "${1:-50}"
