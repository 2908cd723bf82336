#!/usr/bin/env bash
# Benchmark: the ice and turn transports, between two ferry processes.
#
#   bench/ice.sh [SIZE]        SIZE for head -c, default 256M (loopback)
#
# Loopback (each side its own home, --interface lo, local-broadcast):
#   lan            the reference, from the same run
#   ice (tcp)      an RFC 6544 TCP pair: the bytes pass straight through
#   ice (udp)      the UDP pair only ([ice] tcp=false): QUIC
#   turn (udp)     relayed through a coturn the script starts on 127.0.0.1
# Through NAT routers (root and network namespaces; see tests/nat/nat-lib.sh),
# with $FERRY_BENCH_NAT_SIZE (default 32M) and the dht signaling:
#   cone/cone      direct ICE (udp, srflx↔srflx)
#   symmetric      the TURN relay
# and the same over an emulated WAN (netem: 20 ms each way on each router's
# outside link, 40 ms RTT, 0.1% loss) when the kernel has netem.
#
# For each: throughput (size / sender start → verified done), connect time
# (send → the receiver's first byte; both clocks are this machine's), the
# chain, and each side's peak RSS. Every file is checked with cmp.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
size=${1:-256M}
nat_size=${FERRY_BENCH_NAT_SIZE:-32M}
cache=${FERRY_BENCH_DIR:-/tmp/ferry-bench}

"$root/scripts/install-deps.sh" --test || exit 1
"$root/scripts/build.sh" >/dev/null || exit 1

ferry=$build/tools/ferry
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=

source "$root/tests/nat/nat-lib.sh"

mkdir -p "$cache"
work=$(mktemp -d "$cache/ice.XXXXXX")
coturn_loopback=
cleanup() {
  [ -n "$coturn_loopback" ] && { kill "$coturn_loopback" 2>/dev/null; wait "$coturn_loopback" 2>/dev/null; }
  nat_cleanup
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

data_file() { # SIZE → a cached file of random bytes
  local file=$cache/data-$1.bin
  if [ ! -s "$file" ]; then
    head -c "$1" /dev/urandom > "$file.tmp" && mv "$file.tmp" "$file"
  fi
  echo "$file"
}

rows=()

# run LABEL FILE SENDER-PREFIX RECEIVER-PREFIX ARGS...: one transfer; the
# prefixes run the processes (e.g. in a namespace); ARGS go to both sides.
run() {
  local label=$1 file=$2 sender_ns=$3 receiver_ns=$4 dir
  shift 4
  dir=$work/$(echo "$label" | tr -c 'a-z0-9\n' '-')
  mkdir -p "$dir/a" "$dir/b"
  for side in a b; do
    printf '[local-broadcast]\nport=%s\n%b\n' "$signal_port" "${extra_conf:-}" > "$dir/$side/ferry.conf"
  done

  $receiver_ns "$ferry" --home "$dir/b" "$@" --json receive --yes --once --dir "$dir/received" \
    > "$dir/b.jsonl" 2> "$dir/b.log" &
  local receiver=$!
  nat_pids+=("$receiver")
  for _ in $(seq 200); do
    grep -q '"event":"ready"' "$dir/b.jsonl" 2>/dev/null && break
    sleep 0.05
  done
  local account
  account=$(grep '^{' "$dir/b.jsonl" | jq -r 'select(.event == "ready") | .account')
  $sender_ns "$ferry" --home "$dir/a" "$@" --json send --timeout 20 --to "$account" "$file" \
    > "$dir/a.jsonl" 2> "$dir/a.log"
  local status=$?
  for _ in $(seq 300); do kill -0 "$receiver" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$receiver" 2>/dev/null; wait "$receiver" 2>/dev/null

  local received
  received=$(grep '^{' "$dir/b.jsonl" | jq -r 'select(.event == "done") | .files[0].path' 2>/dev/null)
  if [ "$status" -ne 0 ] || [ -z "$received" ] || ! cmp -s "$file" "$received"; then
    rows+=("$(printf '%-28s FAILED: %s' "$label" "$(grep '^{' "$dir/a.jsonl" | jq -r 'select(.event == "error") | .message' 2>/dev/null | head -n 1)")")
    return 1
  fi

  local bytes start done_ms rstart first srss rrss chain
  bytes=$(stat -c %s "$file")
  start=$(grep '^{' "$dir/a.jsonl" | jq -s 'map(select(.event == "ready"))[0].started_at_ms')
  done_ms=$(grep '^{' "$dir/a.jsonl" | jq -s 'map(select(.event == "done"))[0].elapsed_ms')
  rstart=$(grep '^{' "$dir/b.jsonl" | jq -s 'map(select(.event == "ready"))[0].started_at_ms')
  first=$(grep '^{' "$dir/b.jsonl" | jq -s 'map(select(.event == "progress" and .bytes > 0))[0].elapsed_ms')
  srss=$(grep '^{' "$dir/a.jsonl" | jq -s 'map(select(.event == "exit"))[0].peak_rss_kib')
  rrss=$(grep '^{' "$dir/b.jsonl" | jq -s 'map(select(.event == "exit"))[0].peak_rss_kib')
  chain=$(grep '^{' "$dir/a.jsonl" | jq -r 'select(.event == "done") | .chain' | sed 's/ → tls1.3.*//')
  rows+=("$(awk -v l="$label" -v b="$bytes" -v ms="$done_ms" -v ttfb="$((rstart + first - start))" \
               -v s="$srss" -v r="$rrss" -v c="$chain" 'BEGIN {
    printf "%-28s %8.1f MB/s  %6d ms  %5.1f/%5.1f MiB  %s", l, b / 1e6 / (ms / 1000), ttfb, s / 1024, r / 1024, c
  }')")
  return 0
}

print_rows() {
  printf '%-28s %13s  %9s  %15s  %s\n' "" "throughput" "connect" "peak RSS (s/r)" "chain"
  for row in "${rows[@]}"; do
    printf '%s\n' "$row"
  done
  rows=()
}

# Loopback {{{1

file=$(data_file "$size")
signal_port=$((20000 + RANDOM % 20000))
turn_port=$((20000 + RANDOM % 20000))

turnserver -n --no-cli --no-tls --no-dtls --listening-ip=127.0.0.1 --listening-port="$turn_port" \
  --relay-ip=127.0.0.1 --min-port=49160 --max-port=49300 --lt-cred-mech --user=test:test \
  --realm=ferry.test --fingerprint --allow-loopback-peers --no-stdout-log \
  --userdb="$work/turndb" --pidfile="$work/turn.pid" --log-file="$work/turn.log" --simple-log \
  >/dev/null 2>&1 &
coturn_loopback=$!
for _ in $(seq 100); do
  bash -c "exec 3<>/dev/tcp/127.0.0.1/$turn_port" 2>/dev/null && break
  sleep 0.05
done

echo "Loopback, $(stat -c %s "$file") bytes:"
lo=(--interface lo --signaling local-broadcast)
run "lan"        "$file" "" "" "${lo[@]}" --transport lan
run "ice (tcp)"  "$file" "" "" "${lo[@]}" --transport ice
extra_conf='[ice]\ntcp=false' run "ice (udp)" "$file" "" "" "${lo[@]}" --transport ice
run "turn (udp relay)" "$file" "" "" "${lo[@]}" --transport turn \
  --turn "turn:test:test@127.0.0.1:$turn_port?transport=udp"
run "lan (again)" "$file" "" "" "${lo[@]}" --transport lan
run "ice (tcp, again)" "$file" "" "" "${lo[@]}" --transport ice
print_rows

kill "$coturn_loopback" 2>/dev/null; wait "$coturn_loopback" 2>/dev/null; coturn_loopback=

# NAT {{{1

if ! reason=$(nat_check); then
  echo "NAT matrix skipped: $reason"
  exit 0
fi
if ! build_topology || ! start_coturn || ! start_dht; then
  echo "NAT matrix skipped: the namespaces or servers did not start"
  exit 0
fi

nat_file=$(data_file "$nat_size")
nat=(--interface eth0 --signaling dht --dht-proxy http://198.51.100.1:8000
     --transport lan,ice,turn --stun 198.51.100.1:3478
     --turn "turn:test:test@198.51.100.1:3478?transport=udp")
in_a="ip netns exec ${ns[ha]}"
in_b="ip netns exec ${ns[hb]}"

nat_matrix() { # TITLE
  echo
  echo "$1, $(stat -c %s "$nat_file") bytes:"
  set_nat "${ns[ra]}" cone; set_nat "${ns[rb]}" cone
  run "cone/cone" "$nat_file" "$in_a" "$in_b" "${nat[@]}"
  set_nat "${ns[ra]}" cone; set_nat "${ns[rb]}" symmetric
  run "cone/symmetric" "$nat_file" "$in_a" "$in_b" "${nat[@]}"
  set_nat "${ns[ra]}" symmetric; set_nat "${ns[rb]}" symmetric
  run "symmetric/symmetric" "$nat_file" "$in_a" "$in_b" "${nat[@]}"
  print_rows
}

nat_matrix "Through NAT routers (veth, no added delay)"

if set_wan "${ns[ra]}" 20ms 0.1% && set_wan "${ns[rb]}" 20ms 0.1%; then
  nat_matrix "Emulated WAN: 40 ms RTT, 0.1% loss on each router's outside link"
  clear_wan "${ns[ra]}"; clear_wan "${ns[rb]}"
else
  echo
  echo "Emulated WAN skipped: this kernel has no netem (tc qdisc … netem)"
fi
