#!/usr/bin/env bash
# CPU of one verified send to N devices of one account (default 1), over lan
# on loopback, each process with its own home, measured with /usr/bin/time.
#
#   bench/fanout.sh [DEVICES] [SIZE]     SIZE for head -c, default 1G
#
# The N receivers share an account (account.key and account.crt copied into
# their homes before first use, so each one makes a device of its own) and
# each accepts with `receive --yes --once`; the sender sends once to the
# account, so the engine fans out to every device. Prints, per process,
# user + system CPU seconds, peak RSS and wall time, and checks every copy
# with cmp. The data file is made once in $FERRY_BENCH_DIR (default
# /tmp/ferry-bench).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
devices=${1:-1}
size=${2:-1G}
cache=${FERRY_BENCH_DIR:-/tmp/ferry-bench}

ferry=$build/tools/ferry
[ -x "$ferry" ] || { echo "fanout.sh: build ferry first (ninja -C $build)" >&2; exit 1; }
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=
TIME=/usr/bin/time

mkdir -p "$cache"
data=$cache/data-$size.bin
if [ ! -s "$data" ]; then
  echo "Making $data (once)..."
  head -c "$size" /dev/urandom > "$data.tmp"
  mv "$data.tmp" "$data"
fi

work=$(mktemp -d "$cache/fanout.XXXXXX")
pids=()
cleanup() {
  status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "fanout.sh failed; logs are in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
for i in $(seq 0 "$devices") ; do
  mkdir -p "$work/home$i"
  printf '[local-broadcast]\nport=%s\n' "$port" > "$work/home$i/ferry.conf"
done
# home0 sends; home1 makes the account, the others become its devices
"$ferry" --home "$work/home1" --json id > "$work/id.json"
account=$(jq -r .account "$work/id.json")
for i in $(seq 2 "$devices"); do
  cp "$work/home1/account.key" "$work/home1/account.crt" "$work/home$i/"
done

# FERRY_BENCH_SYNCS=1: also how long the receivers' fdatasync and fsync
# calls took (strace, which adds its own CPU to theirs).
# FERRY_BENCH_PERF=DIR: perf record each process into DIR/perf-N.data
# (0 is the sender), for perf report -i.
perf() {
  if [ -n "${FERRY_BENCH_PERF:-}" ]; then
    mkdir -p "$FERRY_BENCH_PERF"
    echo perf record -q -g -o "$FERRY_BENCH_PERF/perf-$1.data" --
  fi
}
syncs=()
for i in $(seq 1 "$devices"); do
  if [ -n "${FERRY_BENCH_SYNCS:-}" ]; then
    syncs=(strace -f -T --seccomp-bpf -e trace=fdatasync,fsync -o "$work/syncs$i")
  fi
  syncs+=($(perf "$i"))
  "$TIME" -f '%U %S %M %e' -o "$work/time$i" "${syncs[@]}" \
    "$ferry" --home "$work/home$i" --interface lo --transport lan --json \
    receive --yes --once --dir "$work/received$i" > "$work/recv$i.jsonl" 2> "$work/recv$i.log" &
  pids+=($!)
done
for i in $(seq 1 "$devices"); do
  for _ in $(seq 400); do
    grep -q '"event":"ready"' "$work/recv$i.jsonl" 2>/dev/null && break
    sleep 0.05
  done
done

"$TIME" -f '%U %S %M %e' -o "$work/time0" $(perf 0) \
  "$ferry" --home "$work/home0" --interface lo --transport lan --json \
  send --to "${account:0:12}" "$data" > "$work/send.jsonl" 2> "$work/send.log"
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()

for i in $(seq 1 "$devices"); do
  copy=$(jq -r 'select(.event == "done") | .files[0].path' "$work/recv$i.jsonl")
  cmp "$data" "$copy"
done

report() {
  awk -v who="$1" '{ printf "%-12s CPU %6.2f s (user %.2f, sys %.2f)  peak RSS %6.1f MiB  wall %6.2f s\n",
                     who, $1 + $2, $1, $2, $3 / 1024, $4 }' "$2"
}
echo "== $(numfmt --to=iec "$(stat -c %s "$data")")B to $devices device(s)"
report sender "$work/time0"
for i in $(seq 1 "$devices"); do
  report "receiver $i" "$work/time$i"
  if [ -n "${FERRY_BENCH_SYNCS:-}" ]; then
    grep -Eo '^[0-9]+ +f(data)?sync.*<[0-9.]+>' "$work/syncs$i" |
      sed -E 's/^[0-9]+ +//; s/\(.*</ /; s/>$/ s/' | sed 's/^/             /'
  fi
done
