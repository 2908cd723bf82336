#!/usr/bin/env bash
# Ferry quick start: installs what is missing, builds, then makes two devices
# on this machine ("alice" and "bob", each its own home folder) and sends a
# 20 MiB random file from alice to bob. All traffic stays on loopback
# (--interface lo). Prints the verified result: the SHA3-256 that each side
# computed and what cmp says about the two files.
#
#   scripts/quickstart.sh [SIZE]      SIZE for head -c, default 20M
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
size=${1:-20M}

"$root/scripts/install-deps.sh" --build
"$root/scripts/build.sh"

ferry=$build/tools/ferry
# Use the plugins just built, not installed ones.
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-quickstart.XXXXXX")
receiver_pid=

cleanup() {
  status=$?
  if [ -n "$receiver_pid" ] && kill -0 "$receiver_pid" 2>/dev/null; then
    kill "$receiver_pid" 2>/dev/null || true
    wait "$receiver_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "quickstart failed; logs are in $work" >&2
    for log in "$work"/*.log; do
      [ -s "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }
    done
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# Both devices find each other through local-broadcast on this port.
port=$((20000 + RANDOM % 20000))
for name in alice bob; do
  mkdir -p "$work/$name"
  printf '[core]\nname=%s\n\n[local-broadcast]\nport=%s\n' "$name" "$port" > "$work/$name/ferry.conf"
done

echo
echo "== Making a $size random file"
head -c "$size" /dev/urandom > "$work/random.bin"

echo "== bob receives (in the background)"
"$ferry" --home "$work/bob" --interface lo --json \
  receive --yes --once --dir "$work/received" > "$work/bob.jsonl" 2> "$work/bob.log" &
receiver_pid=$!

for _ in $(seq 100); do
  grep -q '"event":"ready"' "$work/bob.jsonl" 2>/dev/null && break
  kill -0 "$receiver_pid" 2>/dev/null || { echo "the receiver stopped" >&2; exit 1; }
  sleep 0.1
done
bob=$(jq -r 'select(.event == "ready") | .account' "$work/bob.jsonl")
[ -n "$bob" ] || { echo "the receiver did not start" >&2; exit 1; }
echo "   bob's account id: $bob"

echo "== alice sends it: ferry send --to ${bob:0:12} random.bin"
"$ferry" --home "$work/alice" --interface lo \
  send --to "${bob:0:12}" "$work/random.bin" | tee "$work/alice.out"

receiver_status=0
wait "$receiver_pid" || receiver_status=$?
receiver_pid=
[ "$receiver_status" -eq 0 ] || { echo "the receiver failed (exit $receiver_status)" >&2; exit 1; }

sent_sha3=$(grep -o 'sha3-256 [0-9a-f]\{64\}' "$work/alice.out" | head -1 | cut -d' ' -f2)
received_path=$(jq -r 'select(.event == "done") | .files[0].path' "$work/bob.jsonl")
received_sha3=$(jq -r 'select(.event == "done") | .files[0]["sha3-256"]' "$work/bob.jsonl")
chain=$(jq -r 'select(.event == "done") | .chain' "$work/bob.jsonl")

echo
echo "== Result"
echo "   sent      $work/random.bin"
echo "   received  $received_path"
echo "   chain     $chain"
echo "   sha3-256 computed by alice (sender):   $sent_sha3"
echo "   sha3-256 computed by bob (receiver):   $received_sha3"
if command -v openssl >/dev/null 2>&1; then
  openssl_sha3=$(openssl dgst -sha3-256 -r "$received_path" | cut -d' ' -f1)
  echo "   sha3-256 of the received file (openssl): $openssl_sha3"
  [ "$openssl_sha3" = "$received_sha3" ] || { echo "openssl disagrees" >&2; exit 1; }
fi
[ -n "$sent_sha3" ] && [ "$sent_sha3" = "$received_sha3" ] || { echo "the hashes differ" >&2; exit 1; }
if cmp "$work/random.bin" "$received_path"; then
  echo "   cmp: the received file is identical to the sent one"
else
  exit 1
fi
echo
echo "OK: verified transfer from alice to bob over loopback."
