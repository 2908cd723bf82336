#!/usr/bin/env bash
# Load benchmark: many transfers at once, then a flood against one receiver
# while a legitimate transfer runs. Everything on loopback (--interface lo),
# every ferry process with its own home, all of them stopped by pid.
#
#   bench/load.sh [--identities N] [--concurrency N] [--idle N] [--renew S]
#                 [--transfers N] [--bulk-size SIZE] [--size SIZE] [--settle S]
#
# (a) --transfers (64) senders, each its own identity, send a file of
#     --bulk-size (16M) at once to one `ferry receive --yes`; every received
#     file is checked with cmp.
# (b) A receiver accepts only the legitimate sender (--accept-from). It
#     receives a file of --size (256M) unloaded; then bench/load-flood.py
#     offers a small file from --identities (200) throwaway identities,
#     --concurrency (16) senders at a time, round and round, and holds --idle
#     (128) idle TCP connections to the receiver's lan port, renewed every
#     --renew (5) seconds. Once the flood runs, the legitimate sender sends
#     the same file again; the flood stops when that transfer ended and
#     every identity has offered once. The flood runs at nice 19: on one
#     machine its own senders should not take the CPU from the legitimate
#     pair, while the receiver's work for each offer counts in full. Then the script waits for the
#     receiver to settle (up to --settle, 20 s) and sends the file unloaded
#     a second time. The unloaded speed is the mean of the two unloaded runs.
#
# The receiver of (b) is sampled every 0.25 s (/proc/PID/status, /proc/PID/fd).
# Targets (issue 12): the loaded transfer completes at >= 50% of the unloaded
# speed; peak RSS (VmHWM) < 128 MiB and the final RSS within 10% of the start
# (the start is the idle receiver after the first unloaded run); the final
# thread and fd counts equal the start ones, with a tolerance of 2 threads
# (GLib's thread pools may keep up to two idle workers parked for a while
# after a burst, by design) and 0 fds. Exit status 0 when all targets pass,
# 1 when one fails, 2 on a usage error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}

identities=200 concurrency=16 idle=128 renew=5 transfers=64
bulk_size=16M size=256M settle=20
usage() { sed -n '5,7p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --identities) identities=$2 ;;
    --concurrency) concurrency=$2 ;;
    --idle) idle=$2 ;;
    --renew) renew=$2 ;;
    --transfers) transfers=$2 ;;
    --bulk-size) bulk_size=$2 ;;
    --size) size=$2 ;;
    --settle) settle=$2 ;;
    *) usage ;;
  esac
  shift 2
done

ferry=$build/tools/ferry
[ -x "$ferry" ] || { echo "no $ferry: build first (meson setup build && ninja -C build)" >&2; exit 2; }
for tool in jq python3 cmp awk; do
  command -v "$tool" >/dev/null || { echo "load.sh needs $tool" >&2; exit 2; }
done
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-load.XXXXXX")
pids=()          # every process started here, stopped by pid at the end
cleanup() {
  status=$?
  [ -f "$work/legit.pid" ] && pids+=("$(cat "$work/legit.pid")")
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -gt 1 ]; then
    echo "load.sh stopped (exit $status); logs:" >&2
    tail -n 5 "$work"/*.log >&2 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
forget() {   # forget $1 from pids once it has ended
  local keep=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  pids=("${keep[@]}")
}

now_ms() { date +%s%3N; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

port=$((20000 + RANDOM % 20000))
make_home() {   # make_home DIR NAME [CORE-LINES]
  mkdir -p "$1"
  printf '[core]\nname=%s\n%b\n[local-broadcast]\nport=%s\n' "$2" "${3:-}" "$port" > "$1/ferry.conf"
}
account_of() { "$ferry" --home "$1" --json id | jq -r .account; }

# Starts a receiver in the background: start_receiver NAME ARGS...; sets
# receiver_pid, receiver_account, receiver_lan_port.
start_receiver() {
  local name=$1; shift
  make_home "$work/$name" "$name" "${receiver_core:-}"
  "$ferry" --home "$work/$name" --interface lo --transport lan --json \
    receive --dir "$work/$name-files" "$@" > "$work/$name.jsonl" 2> "$work/$name.log" &
  receiver_pid=$!
  pids+=("$receiver_pid")
  for _ in $(seq 400); do
    grep -q '"event":"ready"' "$work/$name.jsonl" 2>/dev/null && break
    kill -0 "$receiver_pid" 2>/dev/null || { echo "the receiver $name stopped" >&2; exit 3; }
    sleep 0.05
  done
  receiver_account=$(jq -r 'select(.event == "ready") | .account' "$work/$name.jsonl")
  [ -n "$receiver_account" ] || { echo "the receiver $name did not start" >&2; exit 3; }
  receiver_lan_port=$(jq -r 'select(.event == "ready") | .transports.lan[0] // empty' \
                        "$work/$name.jsonl" | sed -n 's/^tcp:127\.0\.0\.1:\([0-9]*\)$/\1/p')
  if [ -z "$receiver_lan_port" ]; then    # not in the announcement: ask the kernel
    receiver_lan_port=$(ss -Hltnp | awk -v p="pid=$receiver_pid," \
      'index($0, p) && $4 ~ /^127\.0\.0\.1:/ { sub(/.*:/, "", $4); print $4; exit }')
  fi
  [ -n "$receiver_lan_port" ] || { echo "no lan port for $name" >&2; exit 3; }
}

stop_pid() {    # SIGTERM, wait, forget
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# "RSS HWM THREADS FDS" of a process, KiB for the memory
snapshot() {
  local fds
  fds=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
  awk -v fds="$fds" '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } /^Threads/ { t = $2 }
    END { print r, h, t, fds }' "/proc/$1/status"
}
sampler() {     # sampler PID FILE: "MS RSS HWM THREADS FDS" every 0.25 s
  while kill -0 "$1" 2>/dev/null; do
    echo "$(now_ms) $(snapshot "$1" 2>/dev/null)"
    sleep 0.25
  done >> "$2"
}
# peak RSS, threads and fds sampled between two times: "RSS THREADS FDS"
peaks() {
  awk -v from="$2" -v to="$3" 'NF == 5 && $1 >= from && $1 <= to {
      if ($2 > r) r = $2; if ($4 > t) t = $4; if ($5 > f) f = $5 }
    END { print r + 0, t + 0, f + 0 }' "$1"
}

# legit_send N: sends the data file from the legitimate home to the
# receiver of (b) (its Nth transfer) and checks it with cmp; prints the
# throughput in MB/s (size / sender start → verified done), or 0 when the
# transfer failed.
legit_send() {
  local out=$work/legit-$1.jsonl received ms status=0
  # In the background, so that its pid is known to the clean-up.
  "$ferry" --home "$work/legit" --interface lo --transport lan --json \
    send --to "$receiver_account" "$data" > "$out" 2> "$work/legit-$1.log" &
  echo $! > "$work/legit.pid"
  wait $! || status=$?
  rm -f "$work/legit.pid"
  if [ "$status" -ne 0 ]; then
    echo "legitimate run $1 failed: $(jq -r 'select(.event == "error") | .message' "$out" | tail -n 1)" >&2
    echo 0
    return
  fi
  # The receiver's own "done" for it (only the legitimate sender gets one).
  for _ in $(seq 100); do
    [ "$(jq -s 'map(select(.event == "done")) | length' "$work/guarded.jsonl")" -ge "$1" ] && break
    sleep 0.05
  done
  received=$(jq -s -r --argjson n "$1" 'map(select(.event == "done"))[$n - 1].files[0].path // empty' \
               "$work/guarded.jsonl")
  if [ -z "$received" ] || ! cmp -s "$data" "$received"; then
    echo "legitimate run $1: the received file is missing or differs" >&2
    echo 0
    return
  fi
  rm -f "$received"
  ms=$(jq -s 'map(select(.event == "done"))[0].elapsed_ms' "$out")
  awk -v b="$bytes" -v ms="$ms" 'BEGIN { printf "%.1f", b / 1e6 / (ms / 1000) }'
}

verdicts=()
verdict() {     # verdict PASS|FAIL TEXT
  verdicts+=("$1")
  printf '  %-4s  %s\n' "$1" "$2"
}

echo "ferry load benchmark ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start)"

# Identities ---------------------------------------------------------------
t0=$(now_ms)
n_homes=$(( identities > transfers ? identities : transfers ))
mkdir -p "$work/flood"
for i in $(seq -f '%04g' 1 "$n_homes"); do
  make_home "$work/flood/$i" "flood-$i"
done
# Each `ferry id` makes the account and device keys of its home.
ls -d "$work"/flood/* | xargs -P 16 -I{} "$ferry" --home {} id > /dev/null
make_home "$work/legit" legit
legit_account=$(account_of "$work/legit")
echo "identities       $n_homes throwaway + 1 legitimate, made in $(( ($(now_ms) - t0) / 1000 )) s"

# (a) many transfers at once -----------------------------------------------
echo
echo "== (a) $transfers concurrent transfers of $bulk_size, each from its own identity, to one receiver"
mkdir -p "$work/bulk"
for i in $(seq -f '%04g' 1 "$transfers"); do
  head -c "$bulk_size" /dev/urandom > "$work/bulk/file-$i.bin"
done
# (a) is about --transfers at once: the receiver's limits (16 transfers,
# 32 pending offers by default) must let them in
receiver_core="max-transfers=$transfers\nmax-pending-offers=$transfers\n"
start_receiver bulk --yes
receiver_core=
bulk_pid=$receiver_pid
bulk_before=$(snapshot "$bulk_pid")
sampler "$bulk_pid" "$work/bulk.samples" & pids+=($!); bulk_sampler=$!
senders=()
homes=("$work"/flood/*)
# Each sender waits at a gate, so that all of them start at once.
for i in $(seq 1 "$transfers"); do
  f=$(printf '%s/bulk/file-%04d.bin' "$work" "$i")
  bash -c 'while [ ! -e "$0" ]; do sleep 0.1; done; exec "$@"' "$work/gate" \
    "$ferry" --home "${homes[$((i - 1))]}" --interface lo --transport lan --json \
    send --to "$receiver_account" --timeout 30 "$f" > "$work/bulk-$i.jsonl" 2> "$work/bulk-$i.log" &
  senders+=($!); pids+=($!)
done
t_start=$(now_ms)
touch "$work/gate"
sent_ok=0
for pid in "${senders[@]}"; do
  if wait "$pid"; then sent_ok=$((sent_ok + 1)); fi
  forget "$pid"
done
t_end=$(now_ms)
# A sender may end before its receiver reported "done": wait for those.
for _ in $(seq 300); do
  [ "$(jq -s 'map(select(.event == "done")) | length' "$work/bulk.jsonl")" -ge "$sent_ok" ] && break
  sleep 0.1
done
verified=0 differ=0
while IFS=$'\t' read -r name path; do
  if [ -f "$work/bulk/$name" ] && cmp -s "$work/bulk/$name" "$path"; then
    verified=$((verified + 1))
  else
    differ=$((differ + 1))
  fi
done < <(jq -r 'select(.event == "done") | .files[] | [.name, .path] | @tsv' "$work/bulk.jsonl")
# The most transfers the receiver had under way at once: from each one's
# first event (its offer) to its last (done or error).
overlap=$(jq -r 'select(.transfer != null) | "\(.transfer) \(.elapsed_ms)"' "$work/bulk.jsonl" |
  awk '!($1 in a) { a[$1] = $2 } { b[$1] = $2 } END { for (k in a) print a[k], 1 "\n" b[k], -1 }' |
  sort -n -k1,1 -k2,2 | awk '{ n += $2; if (n > m) m = n } END { print m + 0 }')
read -r b_rss b_thr b_fds <<< "$(peaks "$work/bulk.samples" "$t_start" "$t_end")"
bulk_after=$(snapshot "$bulk_pid")
bulk_hwm=$(echo "$bulk_after" | cut -d' ' -f2)
stop_pid "$bulk_sampler"
stop_pid "$bulk_pid"
rm -rf "$work/bulk" "$work/bulk-files"
bulk_bytes=$(( transfers * $(numfmt --from=iec "$bulk_size") ))
awk -v n="$transfers" -v ok="$sent_ok" -v o="$overlap" -v d="$differ" -v v="$verified" -v b="$bulk_bytes" -v ms="$((t_end - t_start))" 'BEGIN {
  printf "transfers        %d started, %d senders reported done, %d files verified with cmp", n, ok, v
  printf "%s\n", (d > 0 ? ", " d " missing or different" : "")
  printf "concurrency      at most %d transfers under way at once on the receiver\n", o
  printf "wall time        %.1f s for %.0f MiB, %.1f MB/s in all\n", ms / 1000, b / 1048576, b / 1e6 / (ms / 1000) }'
# Why senders failed, one line per distinct error.
cat "$work"/bulk-*.jsonl | jq -r 'select(.event == "error") | "failed sender    \(.code): \(.message)"' |
  sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)$/\2 (×\1)/'
echo "receiver         RSS $(mib "${bulk_before%% *}") MiB before, peak $(mib "$bulk_hwm") MiB (VmHWM);" \
     "threads $(echo "$bulk_before" | cut -d' ' -f3) → peak $b_thr → $(echo "$bulk_after" | cut -d' ' -f3);" \
     "fds $(echo "$bulk_before" | cut -d' ' -f4) → peak $b_fds → $(echo "$bulk_after" | cut -d' ' -f4)"

# (b) a flood while a legitimate transfer runs ------------------------------
echo
echo "== (b) the legitimate $size transfer, unloaded and under a flood of offers from $identities identities + $idle idle connections"
data=$work/data.bin
head -c "$size" /dev/urandom > "$data"
bytes=$(stat -c %s "$data")
head -c 65536 /dev/urandom > "$work/offer.bin"
# The flood uses the first $identities homes.
mkdir -p "$work/flood-homes"
for h in $(ls "$work/flood" | head -n "$identities"); do
  ln -s "$work/flood/$h" "$work/flood-homes/$h"
done

start_receiver guarded --accept-from "$legit_account"
guarded_pid=$receiver_pid
at_ready=$(snapshot "$guarded_pid")
sampler "$guarded_pid" "$work/guarded.samples" & pids+=($!); guarded_sampler=$!

unloaded1=$(legit_send 1)
sleep 1
start=$(snapshot "$guarded_pid")
read -r s_rss _ s_thr s_fds <<< "$start"

load_start=$(now_ms)
nice -n 19 python3 "$root/bench/load-flood.py" --ferry "$ferry" --homes "$work/flood-homes" \
  --to "$receiver_account" --file "$work/offer.bin" --concurrency "$concurrency" \
  --port "$receiver_lan_port" --idle "$idle" --renew "$renew" \
  --status "$work/flood.json" > "$work/flood.log" 2>&1 &
flood_pid=$!; pids+=("$flood_pid")
flood_status() { jq -r "$1" "$work/flood.json" 2>/dev/null || echo 0; }
# Let the flood reach its pace: a round of idle connections and a few offers.
for _ in $(seq 600); do
  [ "$(flood_status "(.idle.rounds >= 1 or $idle == 0) and .offers_finished >= ([$concurrency, $identities] | min)")" = true ] && break
  kill -0 "$flood_pid" 2>/dev/null || { echo "the flood stopped" >&2; exit 3; }
  sleep 0.1
done
loaded=$(legit_send 2)
legit_end=$(now_ms)
# Keep flooding until every identity has offered once (at most 5 minutes).
for _ in $(seq 3000); do
  [ "$(flood_status ".offers_started >= $identities")" = true ] && break
  sleep 0.1
done
stop_pid "$flood_pid"
load_end=$(now_ms)
read -r p_rss p_thr p_fds <<< "$(peaks "$work/guarded.samples" "$load_start" "$load_end")"
peak_hwm=$(snapshot "$guarded_pid" | cut -d' ' -f2)

# Settle: until the counts are back (or --settle seconds).
for _ in $(seq "$settle"); do
  read -r f_rss _ f_thr f_fds <<< "$(snapshot "$guarded_pid")"
  [ "$f_thr" -le $((s_thr + 2)) ] && [ "$f_fds" -le "$s_fds" ] &&
    awk -v f="$f_rss" -v s="$s_rss" 'BEGIN { exit !(f <= s * 1.1) }' && break
  sleep 1
done
settled_ms=$(( $(now_ms) - load_end ))
final=$(snapshot "$guarded_pid")
read -r f_rss _ f_thr f_fds <<< "$final"

unloaded2=$(legit_send 3)
stop_pid "$guarded_sampler"
stop_pid "$guarded_pid"

offers=$(jq -r '.offers_finished' "$work/flood.json")
outcomes=$(jq -r '.outcomes | to_entries | map("\(.key) \(.value)") | join(", ")' "$work/flood.json")
idle_stats=$(jq -r '.idle | "\(.rounds) rounds, \(.connected) connected, \(.failed) refused or failed, \(.pending) left pending, \(.closed_by_peer) closed by the receiver"' "$work/flood.json")
history_files=$(find "$work/guarded" -path '*history*' -type f | wc -l)

unloaded=$(awk -v a="$unloaded1" -v b="$unloaded2" 'BEGIN {
  if (a > 0 && b > 0) printf "%.1f", (a + b) / 2; else printf "%.1f", a + b }')
echo "flood            $offers offers in $(( (load_end - load_start) / 1000 )) s ($outcomes)"
echo "idle conns       $idle_stats"
echo "legit transfer   unloaded $unloaded1 and $unloaded2 MB/s (mean $unloaded), under the flood $loaded MB/s"
echo "history files    $history_files in the receiver's home after the flood"
printf '%-16s %10s %10s %10s %10s %10s\n' receiver ready start peak final change
printf '%-16s %10s %10s %10s %10s %10s\n' "RSS (MiB)" "$(mib "${at_ready%% *}")" "$(mib "$s_rss")" \
  "$(mib "$peak_hwm")" "$(mib "$f_rss")" "$(awk -v f="$f_rss" -v s="$s_rss" 'BEGIN { printf "%+.0f%%", (f - s) * 100 / s }')"
printf '%-16s %10s %10s %10s %10s %10s\n' threads "$(echo "$at_ready" | cut -d' ' -f3)" "$s_thr" "$p_thr" "$f_thr" "$((f_thr - s_thr))"
printf '%-16s %10s %10s %10s %10s %10s\n' fds "$(echo "$at_ready" | cut -d' ' -f4)" "$s_fds" "$p_fds" "$f_fds" "$((f_fds - s_fds))"
echo "                 (peak RSS is VmHWM; final after the flood ended and $((settled_ms / 1000)) s of settling)"

echo
echo "== targets"
[ "$verified" -eq "$transfers" ] && v=PASS || v=FAIL
verdict $v "(a) $verified of $transfers concurrent transfers verified"
[ "$bulk_hwm" -lt $((128 * 1024)) ] && v=PASS || v=FAIL
verdict $v "(a) receiver's peak RSS $(mib "$bulk_hwm") MiB (< 128 MiB)"
awk -v l="$loaded" -v u="$unloaded" 'BEGIN { exit !(u > 0 && l >= u / 2) }' && v=PASS || v=FAIL
verdict $v "(b) legitimate transfer under the flood at $(awk -v l="$loaded" -v u="$unloaded" 'BEGIN { printf "%.0f", (u > 0 ? l * 100 / u : 0) }')% of its unloaded speed (>= 50%)"
[ "$peak_hwm" -lt $((128 * 1024)) ] && v=PASS || v=FAIL
verdict $v "(b) peak RSS $(mib "$peak_hwm") MiB (< 128 MiB)"
awk -v f="$f_rss" -v s="$s_rss" 'BEGIN { exit !(f <= s * 1.1) }' && v=PASS || v=FAIL
verdict $v "(b) final RSS $(mib "$f_rss") MiB, start $(mib "$s_rss") MiB (within 10%)"
[ "$f_thr" -le $((s_thr + 2)) ] && v=PASS || v=FAIL
verdict $v "(b) threads $s_thr at the start, $f_thr at the end (at most 2 more)"
[ "$f_fds" -le "$s_fds" ] && v=PASS || v=FAIL
verdict $v "(b) fds $s_fds at the start, $f_fds at the end (no more)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

for v in "${verdicts[@]}"; do
  [ "$v" = PASS ] || exit 1
done
