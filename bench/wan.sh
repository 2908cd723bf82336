#!/usr/bin/env bash
# Benchmark: the ice UDP pair and the turn UDP relay (both QUIC over libnice
# datagrams) over an emulated WAN link, for kernels without the netem qdisc.
#
#   sudo chrt -f 10 bench/wan.sh [SIZE]       SIZE for head -c, default 8M
#
# (chrt: other jobs on the machine do not take the CPU from the two ends;
# the forwarder and coturn run ahead of them, see link_sched below. Use a
# SIZE of 64M or more to see the steady rate: with 16M, start-up is most of
# a 40 ms run.)
#
# Two network namespaces made here, each with a TUN device (tun-a 10.99.0.1/30,
# tun-b 10.99.0.2/30); the forwarder (bench/wan-link.c, built as
# $FERRY_BUILD_DIR/bench/wan-link) moves the IP packets between the two TUNs
# in user space with a delay each way and random loss. `ferry receive`
# runs in A, `ferry send` in B, each with its own home, --interface tun-X and
# --signaling local-broadcast (its multicast crosses the emulated link like
# any other packet). For TURN, a coturn runs in A on 10.99.0.1:3478 (relay
# 10.99.0.1): the sender's leg to the server crosses the link once, the
# receiver's is local, so the relayed path has the same RTT as the direct one.
#
# Links: control (0 ms, 0% loss: the forwarder's own ceiling), 40 ms RTT
# without loss, and 40 ms RTT with 0.1% loss (20 ms + 0.1% each way).
# Transports: ice with [ice] tcp=false (the UDP pair), turn (UDP relay: the
# sender, which offers, relays; the receiver reaches that relay from its
# host address, so the data crosses coturn once), and
# ice with TCP candidates (the RFC 6544 TCP pair, kernel TCP) for comparison;
# `relay` (not in the default list): ice with [ice] relay=true and
# tcp=false, B dropping the direct checks for the whole run, so the
# transfer stays on ice's relayed pair (what the default configuration
# uses when no direct pair works; libnice ranks the receiver's relay first);
# `migrate`: ice with [ice] relay=true and tcp=false, B dropping the ICE
# checks between the two hosts (but for coturn's) until A reports its first
# byte: the transfer starts on the relay and moves to the
# direct pair once libnice's checks get through. Its row adds the switch
# (ms after the stream opened, from the sender's debug log) and the bytes of
# each path (relay/direct, from the done event).
#
# throughput = size / the sender's done elapsed_ms (`ferry send` start →
# verified done, so discovery and connection included); data phase = size /
# the receiver's done duration_ms (its first byte → done); connect = `ferry
# send` start → the receiver's first progress with bytes > 0 (both clocks are
# this machine's). Every received file is checked with cmp. drops: packets
# the kernel dropped in the run at the TUN devices of A/B (their queue full:
# the forwarder did not read in time) and at full UDP socket buffers in A/B
# (in A mostly coturn's). Under each link, the forwarder's counters: random
# losses, the rate cap's drops, how far it fell behind (packets read in a
# row, departures over 1 ms late).
#
# Environment: FERRY_BUILD_DIR (default $root/build), FERRY_BENCH_DIR
# (default /tmp/ferry-bench), FERRY_WAN_LINKS (default "0:0 20:0 20:0.001",
# DELAY-MS-EACH-WAY:LOSS), FERRY_WAN_TRANSPORTS (default "udp turn tcp"),
# FERRY_WAN_KEEP (set: keep a failed run's folder in $FERRY_BENCH_DIR),
# FERRY_WAN_RATE (e.g. 100mbit: cap each direction with a token bucket and a
# 50 ms queue, see bench/wan-link.c; default no cap), FERRY_QUIC_CC
# (bbr | bbr2 | cubic | reno: the QUIC congestion controller, default bbr),
# FERRY_WAN_DEBUG (set: the QUIC sender's state once a second under each
# link: window, pacing and delivery rates, RTT, why flushes ended),
# FERRY_WAN_LINK_SCHED and FERRY_WAN_RELAY_SCHED (the command prefixes that
# schedule the forwarder and coturn; empty: none), FERRY_WAN_TXQUEUELEN
# (the TUN devices' queues, default 5000 packets).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
size=${1:-8M}
cache=${FERRY_BENCH_DIR:-/tmp/ferry-bench}
links=${FERRY_WAN_LINKS:-0:0 20:0 20:0.001}
transports=${FERRY_WAN_TRANSPORTS:-udp turn tcp}

ferry=$build/tools/ferry
wan_link=$build/bench/wan-link
# The forwarder is the link: nothing on this machine should delay it. Under
# SCHED_DEADLINE (up to 0.7 ms of CPU in every 1 ms) it runs ahead of any
# other process, also of `chrt -f` ones, and is not stopped when those use
# up the real-time share of the CPU (which stalled a SCHED_FIFO forwarder
# for 50 ms at a time).
link_sched=${FERRY_WAN_LINK_SCHED-chrt -d --sched-runtime 700000 --sched-deadline 1000000 --sched-period 1000000 0}
# coturn stands for a server of its own: ahead of the two ends (run them
# under `chrt -f 10` at most), or its sockets overflow while it waits for
# the CPU (up to 7% of the relayed datagrams were lost so).
relay_sched=${FERRY_WAN_RELAY_SCHED-chrt -f 20}
# TUN queues of 5000 packets rather than 500 (bench/wan-link.c): fewer
# drops before the forwarder, as behind a NIC; at 40 ms, 128M, the UDP pair
# lost 600 datagrams there instead of 4,549 and ran 4-7% faster.
export FERRY_WAN_TXQUEUELEN=${FERRY_WAN_TXQUEUELEN:-5000}
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=

[ "$(id -u)" -eq 0 ] || { echo "wan.sh: needs root (network namespaces, TUN devices)" >&2; exit 1; }
for tool in ip jq turnserver cmp; do
  command -v "$tool" >/dev/null || { echo "wan.sh: $tool is not installed" >&2; exit 1; }
done
for built in "$ferry" "$wan_link"; do
  [ -x "$built" ] || { echo "wan.sh: no $built (build first, or set FERRY_BUILD_DIR)" >&2; exit 1; }
done

tag=fw$$
ns_a=$tag-a
ns_b=$tag-b
addr_a=10.99.0.1
addr_b=10.99.0.2
pids=()
link_pid=
coturn_pid=

mkdir -p "$cache"
work=$(mktemp -d "$cache/wan.XXXXXX")

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }

ip netns add "$ns_a" || exit 1
ip netns add "$ns_b" || exit 1
for n in "$ns_a" "$ns_b"; do
  ip netns exec "$n" ip link set lo up
  # No IPv6 link-local candidates (they add seconds to ICE).
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

# link_up DELAY-MS LOSS: the TUN pair and its forwarder, then coturn in A.
link_up() {
  $link_sched "$wan_link" "$ns_a" tun-a "$ns_b" tun-b "$1" "$2" \
    > "$work/link.out" 2> "$work/link.log" &
  link_pid=$!
  pids+=("$link_pid")
  for _ in $(seq 100); do
    grep -q ready "$work/link.out" 2>/dev/null && break
    sleep 0.05
  done
  grep -q ready "$work/link.out" || { echo "wan.sh: the link did not start:" >&2; cat "$work/link.log" >&2; return 1; }
  in_a ip addr add "$addr_a/30" dev tun-a
  in_b ip addr add "$addr_b/30" dev tun-b
  in_a ip link set tun-a up multicast on
  in_b ip link set tun-b up multicast on
  # coturn drops allocations without a default route.
  in_a ip route add default dev tun-a
  in_b ip route add default dev tun-b

  rm -f "$work/turndb"
  # `ip netns exec` execs the command: $! is the server's pid (not through
  # the in_a function, which would background a subshell).
  ip netns exec "$ns_a" $relay_sched turnserver -n --no-cli --no-tls --no-dtls --listening-ip="$addr_a" --listening-port=3478 \
    --relay-ip="$addr_a" --min-port=49160 --max-port=49300 --lt-cred-mech --user=test:test \
    --realm=ferry.test --fingerprint --no-stdout-log \
    --userdb="$work/turndb" --pidfile="$work/turn.pid" --log-file="$work/turn.log" --simple-log \
    >/dev/null 2>&1 &
  coturn_pid=$!
  pids+=("$coturn_pid")
  for _ in $(seq 100); do
    in_b bash -c "exec 3<>/dev/tcp/$addr_a/3478" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "wan.sh: coturn did not start" >&2
  return 1
}

link_down() {
  kill "$coturn_pid" 2>/dev/null; wait "$coturn_pid" 2>/dev/null
  kill "$link_pid" 2>/dev/null; wait "$link_pid" 2>/dev/null
  coturn_pid= link_pid=
}

data_file() { # SIZE → a cached file of random bytes
  local file=$cache/data-$1.bin
  if [ ! -s "$file" ]; then
    head -c "$1" /dev/urandom > "$file.tmp" && mv "$file.tmp" "$file"
  fi
  echo "$file"
}

rows=()

# tun_drops a|b: packets the kernel dropped at that side's TUN device (its
# queue full: the forwarder did not read them in time).
tun_drops() {
  ip netns exec "$tag-$1" cat "/sys/class/net/tun-$1/statistics/tx_dropped"
}

# udp_drops a|b: datagrams that side's kernel dropped because a socket's
# receive buffer was full (ferry's sockets, and coturn's in A).
udp_drops() {
  ip netns exec "$tag-$1" awk '/^Udp:/ { if (!n++) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") f = i } else print $f }' /proc/net/snmp
}

# block_direct -I|-D: B drops (or stops dropping) the ICE checks between
# the two hosts (STUN: the magic cookie at offset 4 of the UDP payload), but
# for coturn and its relay ports. Without a successful check, no direct
# pair carries anything; the signaling passes.
block_direct() {
  local keep=3478,49160:49300 stun=(-m u32 --u32 "0>>22&0x3C@12=0x2112A442")
  in_b iptables "$1" OUTPUT -p udp -d "$addr_a" -m multiport ! --dports "$keep" "${stun[@]}" -j DROP 2>/dev/null
  in_b iptables "$1" INPUT -p udp -s "$addr_a" -m multiport ! --sports "$keep" "${stun[@]}" -j DROP 2>/dev/null
  return 0
}

# run LABEL ARGS...: one transfer from B to A; ARGS go to both sides (after
# --interface). $extra_conf is added to both ferry.conf files.
run() {
  local label=$1 dir
  shift
  dir=$work/run$((++run_count))
  mkdir -p "$dir/a" "$dir/b"
  printf '[local-broadcast]\nport=%s\n%b\n' "$signal_port" "${extra_conf:-}" > "$dir/a/ferry.conf"
  cp "$dir/a/ferry.conf" "$dir/b/ferry.conf"

  ip netns exec "$ns_a" "$ferry" --home "$dir/a" --interface tun-a "$@" --json receive --yes --once --dir "$dir/received" \
    > "$dir/r.jsonl" 2> "$dir/r.log" &
  local receiver=$!
  pids+=("$receiver")
  local drops_a drops_b udp_a udp_b
  drops_a=$(tun_drops a) drops_b=$(tun_drops b) udp_a=$(udp_drops a) udp_b=$(udp_drops b)
  for _ in $(seq 200); do
    grep -q '"event":"ready"' "$dir/r.jsonl" 2>/dev/null && break
    sleep 0.05
  done
  local account opener=
  account=$(grep '^{' "$dir/r.jsonl" | jq -r 'select(.event == "ready") | .account')
  [ -n "${blocked:-}" ] && block_direct -I
  if [ -n "${migrate:-}" ]; then
    block_direct -I
    # Opens the direct path at A's first byte (polling: a benchmark).
    ( for _ in $(seq 600); do
        grep -q '"event":"progress","elapsed_ms":[0-9]*,"transfer":"[0-9a-f]*","bytes":[1-9]' "$dir/r.jsonl" 2>/dev/null && break
        sleep 0.02
      done
      block_direct -D ) &
    opener=$!
    pids+=("$opener")
  fi
  G_MESSAGES_DEBUG=$([ -n "${migrate:-}${FERRY_WAN_DEBUG:-}" ] && echo Ferry-nice) \
    in_b "$ferry" --home "$dir/b" --interface tun-b "$@" --json send --timeout 30 --to "$account" "$file" \
    > "$dir/s.jsonl" 2> "$dir/s.log"
  local status=$?
  [ -n "$opener" ] && { kill "$opener" 2>/dev/null; wait "$opener" 2>/dev/null; block_direct -D; }
  [ -n "${blocked:-}" ] && block_direct -D
  for _ in $(seq 300); do kill -0 "$receiver" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$receiver" 2>/dev/null; wait "$receiver" 2>/dev/null

  local received
  received=$(grep '^{' "$dir/r.jsonl" | jq -r 'select(.event == "done") | .files[0].path' 2>/dev/null)
  if [ "$status" -ne 0 ] || [ -z "$received" ] || ! cmp -s "$file" "$received"; then
    rows+=("$(printf '%-38s FAILED: %s' "$label" \
      "$( (grep -h '^{' "$dir/s.jsonl" "$dir/r.jsonl" | jq -r 'select(.event == "error") | .message'; tail -n 1 "$dir/s.log") 2>/dev/null | head -n 1)")")
    [ -n "${FERRY_WAN_KEEP:-}" ] && cp -r "$dir" "$cache/failed-$run_count"
    return 1
  fi

  local bytes start done_ms rstart first chain dur srss rrss drops
  drops="$(($(tun_drops a) - drops_a))/$(($(tun_drops b) - drops_b)) $(($(udp_drops a) - udp_a))/$(($(udp_drops b) - udp_b))"
  bytes=$(stat -c %s "$file")
  dur=$(grep '^{' "$dir/r.jsonl" | jq -s 'map(select(.event == "done"))[0].duration_ms')
  start=$(grep '^{' "$dir/s.jsonl" | jq -s 'map(select(.event == "ready"))[0].started_at_ms')
  done_ms=$(grep '^{' "$dir/s.jsonl" | jq -s 'map(select(.event == "done"))[0].elapsed_ms')
  rstart=$(grep '^{' "$dir/r.jsonl" | jq -s 'map(select(.event == "ready"))[0].started_at_ms')
  first=$(grep '^{' "$dir/r.jsonl" | jq -s 'map(select(.event == "progress" and .bytes > 0))[0].elapsed_ms')
  chain=$(grep '^{' "$dir/s.jsonl" | jq -r 'select(.event == "done") | .chain' | sed 's/ → tls1.3.*//')
  srss=$(grep '^{' "$dir/s.jsonl" | jq -s 'map(select(.event == "exit"))[0].peak_rss_kib // 0')
  rrss=$(grep '^{' "$dir/r.jsonl" | jq -s 'map(select(.event == "exit"))[0].peak_rss_kib // 0')
  if [ -n "${migrate:-}" ]; then
    # "… N ms after it opened"; the bytes each path carried.
    local switch paths
    switch=$(cat "$dir/s.jsonl" "$dir/s.log" | grep -o 'the stream moves from .* \([0-9]*\) ms after it opened' |
             head -n 1 | sed 's/.* \([0-9]*\) ms after it opened/\1/')
    paths=$(grep '^{' "$dir/s.jsonl" | jq -r 'select(.event == "done") | [.paths[] | .bytes / 1e6 | . * 10 | round / 10 | tostring] | join("/")')
    chain="switch ${switch:-none} ms, $paths MB; $chain"
  fi
  rows+=("$(awk -v l="$label" -v b="$bytes" -v ms="$done_ms" -v ttfb="$((rstart + first - start))" \
               -v d="$dur" -v c="$chain" -v s="$srss" -v r="$rrss" -v t="$drops" 'BEGIN {
    printf "%-38s %7.2f MB/s %7.2f MB/s %7d ms  %3.0f/%3.0f MiB  %15s  %s", l, b / 1e6 / (ms / 1000), b / 1e6 / (d / 1000), ttfb, s / 1024, r / 1024, t, c
  }')")
  return 0
}

file=$(data_file "$size")
run_count=0
signal_port=$((20000 + RANDOM % 20000))
turn=(--turn "turn:test:test@$addr_a:3478?transport=udp")

echo "ferry over an emulated link (bench/wan-link, TUN in two namespaces), $(stat -c %s "$file") bytes, B → A"
printf '%-38s %12s %12s %10s  %11s  %15s  %s\n' "" "throughput" "data phase" "connect" "RSS s/r" "drops tun, udp" "chain"
for link in $links; do
  delay=${link%%:*} loss=${link#*:}
  link_up "$delay" "$loss" || exit 1
  title=$(awk -v d="$delay" -v p="$loss" 'BEGIN { printf "%d ms RTT, %g%% loss", 2 * d, 100 * p }')
  [ -n "${FERRY_WAN_RATE:-}" ] && title="$title, $FERRY_WAN_RATE"
  for what in $transports; do
    case $what in
      udp) extra_conf='[ice]\ntcp=false' run "ice (udp pair), $title" --signaling local-broadcast --transport ice ;;
      turn) run "turn (udp relay), $title" --signaling local-broadcast --transport turn "${turn[@]}" ;;
      tcp) run "ice (tcp pair), $title" --signaling local-broadcast --transport ice ;;
      relay) blocked=1 extra_conf='[ice]\ntcp=false\nrelay=true' \
               run "ice (udp relay), $title" --signaling local-broadcast --transport ice "${turn[@]}" ;;
      migrate) migrate=1 extra_conf='[ice]\ntcp=false\nrelay=true' \
                 run "ice (relay → udp pair), $title" --signaling local-broadcast --transport ice "${turn[@]}" ;;
    esac
  done
  for row in "${rows[@]}"; do printf '%s\n' "$row"; done
  if [ -n "${FERRY_WAN_DEBUG:-}" ]; then
    # The QUIC sender's state, once a second (ferry-nice-quic.c).
    for log in "$work"/run*/s.log; do
      cat "$log" "${log%.log}.jsonl" | grep -o 'quic: cwnd[^"]*' | sed "s|^quic: |  ($(basename "$(dirname "$log")")) |"
    done
    rm -f "$work"/run*/s.log "$work"/run*/s.jsonl
  fi
  rows=()
  link_down
  # The forwarder's counters, to show the loss really happened.
  sed -n 's/^wan-link: /  (link /p' "$work/link.log" | sed 's/$/)/'
done
