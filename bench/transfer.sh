#!/usr/bin/env bash
# Benchmark: one verified transfer between two ferry processes over lan on
# loopback, each with its own home. Prints the throughput, the time to first
# byte and the peak RSS of each side, and checks the file with cmp.
#
#   bench/transfer.sh [SIZE]      SIZE for head -c, default 1G
#
# The data file is made once (random bytes) and kept in $FERRY_BENCH_DIR
# (default /tmp/ferry-bench); the received copy is removed afterwards.
#   throughput     size / (sender start → sender "done")
#   first byte     receiver's first "progress" with bytes > 0, from the
#                  sender's start (both clocks are this machine's)
#   peak RSS       VmHWM of each process, from its "exit" event
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
size=${1:-1G}
cache=${FERRY_BENCH_DIR:-/tmp/ferry-bench}

"$root/scripts/install-deps.sh" --build
"$root/scripts/build.sh" >/dev/null

ferry=$build/tools/ferry
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=

mkdir -p "$cache"
data=$cache/data-$size.bin
if [ ! -s "$data" ]; then
  echo "Making $data (once)..."
  head -c "$size" /dev/urandom > "$data.tmp"
  mv "$data.tmp" "$data"
fi
bytes=$(stat -c %s "$data")

work=$(mktemp -d "$cache/run.XXXXXX")
receiver_pid=
cleanup() {
  status=$?
  if [ -n "$receiver_pid" ] && kill -0 "$receiver_pid" 2>/dev/null; then
    kill "$receiver_pid" 2>/dev/null || true
    wait "$receiver_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "benchmark failed; logs are in $work" >&2
    cat "$work"/*.log >&2 2>/dev/null || true
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
for side in sender receiver; do
  mkdir -p "$work/$side"
  printf '[local-broadcast]\nport=%s\n' "$port" > "$work/$side/ferry.conf"
done

"$ferry" --home "$work/receiver" --interface lo --transport lan --json \
  receive --yes --once --dir "$work/received" > "$work/receiver.jsonl" 2> "$work/receiver.log" &
receiver_pid=$!
for _ in $(seq 200); do
  grep -q '"event":"ready"' "$work/receiver.jsonl" 2>/dev/null && break
  kill -0 "$receiver_pid" 2>/dev/null || { echo "the receiver stopped" >&2; exit 1; }
  sleep 0.05
done
account=$(jq -r 'select(.event == "ready") | .account' "$work/receiver.jsonl")
[ -n "$account" ] || { echo "the receiver did not start" >&2; exit 1; }

"$ferry" --home "$work/sender" --interface lo --transport lan --json \
  send --to "${account:0:12}" "$data" > "$work/sender.jsonl" 2> "$work/sender.log"
wait "$receiver_pid"
receiver_pid=

jq -s -e 'any(.[]; .event == "done")' "$work/sender.jsonl" >/dev/null
jq -s -e 'any(.[]; .event == "done")' "$work/receiver.jsonl" >/dev/null
received=$(jq -r 'select(.event == "done") | .files[0].path' "$work/receiver.jsonl")
cmp "$data" "$received"

sender_start=$(jq -s 'map(select(.event == "ready"))[0].started_at_ms' "$work/sender.jsonl")
sender_done=$(jq -s 'map(select(.event == "done"))[0].elapsed_ms' "$work/sender.jsonl")
receiver_start=$(jq -s 'map(select(.event == "ready"))[0].started_at_ms' "$work/receiver.jsonl")
first_byte=$(jq -s 'map(select(.event == "progress" and .bytes > 0))[0].elapsed_ms' "$work/receiver.jsonl")
sender_rss=$(jq -s 'map(select(.event == "exit"))[0].peak_rss_kib' "$work/sender.jsonl")
receiver_rss=$(jq -s 'map(select(.event == "exit"))[0].peak_rss_kib' "$work/receiver.jsonl")
chain=$(jq -r 'select(.event == "done") | .chain' "$work/sender.jsonl")
sha3=$(jq -r 'select(.event == "done") | .files[0]["sha3-256"]' "$work/receiver.jsonl")

awk -v bytes="$bytes" -v ms="$sender_done" -v ttfb="$((receiver_start + first_byte - sender_start))" \
    -v srss="$sender_rss" -v rrss="$receiver_rss" -v chain="$chain" -v sha3="$sha3" 'BEGIN {
  printf "size            %d bytes (%.1f MiB)\n", bytes, bytes / 1048576
  printf "time            %.3f s (sender start to verified done)\n", ms / 1000
  printf "throughput      %.1f MB/s (%.1f MiB/s)\n", bytes / 1e6 / (ms / 1000), bytes / 1048576 / (ms / 1000)
  printf "first byte      %d ms after the sender started\n", ttfb
  printf "peak RSS        sender %.1f MiB, receiver %.1f MiB\n", srss / 1024, rrss / 1024
  printf "chain           %s\n", chain
  printf "sha3-256        %s (both sides, cmp agrees)\n", sha3
}'
