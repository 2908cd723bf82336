#!/usr/bin/env bash
# nat-test.sh: ferry through NAT routers, in network namespaces (root only)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   host A 10.0.1.2 ── router A ──┐                    ┌── router B ── host B 10.0.2.2
#           (10.0.1.0/24)   198.51.100.11   "internet"    198.51.100.12   (10.0.2.0/24)
#                                     198.51.100.1: coturn, 2 × dhtnode proxy
#
# The routers masquerade (endpoint-independent mapping: "cone"), or with
# --random-fully (a new port per destination: "symmetric"), and drop every
# unsolicited packet, forwarded or addressed to themselves. `ferry` runs in
# the host namespaces with --interface eth0 and every transport enabled
# (lan, ice, turn), finding its peer through the dht signaling and an
# OpenDHT proxy on the internet side. Each case checks the file with cmp and
# the path taken:
#
#   cone/cone            → direct ICE (udp), never the relay, never lan
#   cone/symmetric       → TURN relay
#   symmetric/symmetric  → TURN relay
#   symmetric + TURN down→ the transfer fails, and the error says what each
#                          transport tried (lan, ice, turn)
#   cone/cone, the link cut in the middle → both sides end with an error
#
# Output is TAP. Without root or network namespaces the suite is skipped,
# unless FERRY_TEST_NO_SKIP is set (CI), where that is a failure. Only
# addresses inside the namespaces made here are used (10.x inside, TEST-NET-2
# outside); every namespace and process started is removed on exit, by name
# and by pid.
#
# Environment: FERRY_TOOL (the ferry binary), FERRY_PLUGIN_PATH (the build's
# plugins); both are set by meson. FERRY_NAT_KEEP=1 keeps the work folder.
set -uo pipefail

ferry=${FERRY_TOOL:-}
tag=fn$$
inet=$tag-inet
declare -A ns=( [ra]=$tag-ra [rb]=$tag-rb [ha]=$tag-ha [hb]=$tag-hb )
work=
pids=()
n_tests=5
test_index=0
failed=0

say() { printf '# %s\n' "$*"; }

skip_all() {
  if [ -n "${FERRY_TEST_NO_SKIP:-}" ]; then
    printf '1..1\nnot ok 1 - cannot run the NAT suite here: %s\n' "$1"
    exit 1
  fi
  printf '1..0 # SKIP %s\n' "$1"
  exit 0
}

cleanup() {
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  for name in "${ns[@]}" "$inet"; do
    ip netns del "$name" 2>/dev/null
  done
  if [ -n "$work" ]; then
    if [ "$failed" -ne 0 ] || [ -n "${FERRY_NAT_KEEP:-}" ]; then
      say "logs kept in $work"
    else
      rm -rf "$work"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Preconditions {{{1

[ -n "$ferry" ] && [ -x "$ferry" ] || skip_all "FERRY_TOOL does not name the ferry binary"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, iptables)"
for tool in ip iptables turnserver dhtnode cmp jq; do
  command -v "$tool" >/dev/null || skip_all "$tool is not installed"
done
ip netns add "$inet" 2>/dev/null || skip_all "ip netns is not permitted here"
ip netns exec "$inet" iptables -L -n >/dev/null 2>&1 || skip_all "iptables does not work in a network namespace"

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-nat.XXXXXX")

# Topology {{{1

in_ns() { local name=$1; shift; ip netns exec "$name" "$@"; }

set_up_namespace() {
  in_ns "$1" ip link set lo up
  in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

build_topology() {
  for name in "${ns[@]}"; do
    ip netns add "$name" || return 1
  done
  for name in "$inet" "${ns[@]}"; do
    set_up_namespace "$name"
  done

  # The internet: a bridge, the servers on 198.51.100.1, and a default
  # route (coturn drops allocations without one).
  in_ns "$inet" ip link add br0 type bridge
  in_ns "$inet" ip addr add 198.51.100.1/24 dev br0
  in_ns "$inet" ip link set br0 up
  in_ns "$inet" ip route add default dev br0

  local side octet
  for side in a b; do
    [ "$side" = a ] && octet=11 || octet=12
    local router=${ns[r$side]} host=${ns[h$side]} net=10.0.$([ "$side" = a ] && echo 1 || echo 2)
    ip link add wan netns "$router" type veth peer name "wan-$side" netns "$inet"
    in_ns "$inet" ip link set "wan-$side" master br0 up
    in_ns "$router" ip addr add "198.51.100.$octet/24" dev wan
    in_ns "$router" ip link set wan up
    in_ns "$router" ip route add default via 198.51.100.1

    ip link add lan netns "$router" type veth peer name eth0 netns "$host"
    in_ns "$router" ip addr add "$net.1/24" dev lan
    in_ns "$router" ip link set lan up
    in_ns "$router" sysctl -qw net.ipv4.ip_forward=1
    in_ns "$host" ip addr add "$net.2/24" dev eth0
    in_ns "$host" ip link set eth0 up
    in_ns "$host" ip route add default via "$net.1"
  done
}

# nat ROUTER cone|symmetric
set_nat() {
  local router=$1 kind=$2 random=()
  [ "$kind" = symmetric ] && random=(--random-fully)
  in_ns "$router" iptables -t nat -F
  in_ns "$router" iptables -F
  in_ns "$router" conntrack -F 2>/dev/null
  in_ns "$router" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${random[@]}"
  in_ns "$router" iptables -P FORWARD DROP
  in_ns "$router" iptables -A FORWARD -i lan -o wan -j ACCEPT
  in_ns "$router" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  # Unsolicited packets to the router itself are dropped too, or a cone
  # NAT behaves like a symmetric one.
  in_ns "$router" iptables -P INPUT DROP
  in_ns "$router" iptables -A INPUT -i lo -j ACCEPT
  in_ns "$router" iptables -A INPUT -i lan -j ACCEPT
  in_ns "$router" iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
}

# Servers {{{1

coturn_pid=

start_coturn() {
  # `ip netns exec` execs the command: $! is the server's pid.
  ip netns exec "$inet" turnserver -n --no-cli --no-tls --no-dtls \
    --listening-ip=198.51.100.1 --listening-port=3478 --relay-ip=198.51.100.1 \
    --min-port=49160 --max-port=49300 --lt-cred-mech --user=test:test \
    --realm=ferry.test --fingerprint --no-stdout-log \
    --userdb="$work/turndb" --pidfile="$work/turn.pid" --log-file="$work/turn.log" \
    --simple-log >/dev/null 2>&1 &
  coturn_pid=$!
  pids+=("$coturn_pid")
  # Ready when it listens (< 1.5 s).
  for _ in $(seq 100); do
    in_ns "$inet" bash -c 'exec 3<>/dev/tcp/198.51.100.1/3478' 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

stop_coturn() {
  kill "$coturn_pid" 2>/dev/null
  wait "$coturn_pid" 2>/dev/null
}

http() { # NS HOST PORT REQUEST → the raw answer
  in_ns "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "%b" "$2" >&3; timeout 3 cat <&3' "$2" "$3" "$4"
}

start_dht() {
  local network=$((RANDOM * 32768 + RANDOM + 1))
  ip netns exec "$inet" dhtnode -s -n "$network" -p 4222 --proxyserver 8000 --proxy-addr 198.51.100.1 \
    > "$work/dhtnode-1.log" 2>&1 < /dev/null &
  pids+=($!)
  ip netns exec "$inet" dhtnode -s -n "$network" -p 4223 -b 198.51.100.1:4222 --proxyserver 8001 \
    --proxy-addr 198.51.100.1 > "$work/dhtnode-2.log" 2>&1 < /dev/null &
  pids+=($!)

  # Ready when a value put through one proxy reads back through the other.
  local key=0123456789abcdef0123456789abcdef01234567 data body
  data=$(printf 'ferry-nat-%s' "$RANDOM" | base64)
  body="{\"data\":\"$data\",\"id\":\"$RANDOM$RANDOM\",\"type\":5}"
  for _ in $(seq 100); do
    http "$inet" 198.51.100.1 8000 "POST /key/$key HTTP/1.1\r\nHost: dht\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body" >/dev/null 2>&1
    if http "$inet" 198.51.100.1 8001 "GET /key/$key HTTP/1.1\r\nHost: dht\r\nConnection: close\r\n\r\n" 2>/dev/null | grep -q "$data"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Transfers {{{1

common_args=(--interface eth0 --signaling dht --dht-proxy http://198.51.100.1:8000
             --transport "${FERRY_NAT_TRANSPORTS:-lan,ice,turn}" --stun 198.51.100.1:3478
             --turn "turn:test:test@198.51.100.1:3478?transport=udp" --json)

receiver_pid=

# start_receiver CASE
start_receiver() {
  local dir=$work/$1
  mkdir -p "$dir/b/home" "$dir/a/home" "$dir/b/received"
  printf '[core]\nname=bob\nconnect-timeout=%s\n' "${CONNECT_TIMEOUT:-10}" > "$dir/b/home/ferry.conf"
  printf '[core]\nname=alice\nconnect-timeout=%s\n' "${CONNECT_TIMEOUT:-10}" > "$dir/a/home/ferry.conf"
  ip netns exec "${ns[hb]}" "$ferry" --home "$dir/b/home" "${common_args[@]}" \
    receive --yes --once --dir "$dir/b/received" > "$dir/b/out.jsonl" 2> "$dir/b/err.log" &
  receiver_pid=$!
  pids+=("$receiver_pid")
  for _ in $(seq 200); do
    grep -q '"event":"ready"' "$dir/b/out.jsonl" 2>/dev/null && return 0
    kill -0 "$receiver_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# send CASE FILE [&]: the sender's exit status in $sent_status
send_file() {
  local dir=$work/$1 file=$2 account
  account=$(grep '^{' "$dir/b/out.jsonl" | jq -r 'select(.event == "ready") | .account')
  ip netns exec "${ns[ha]}" "$ferry" --home "$dir/a/home" "${common_args[@]}" \
    send --timeout 20 --to "$account" "$file" > "$dir/a/out.jsonl" 2> "$dir/a/err.log"
}

wait_receiver() {
  local status
  for _ in $(seq 300); do
    kill -0 "$receiver_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$receiver_pid" 2>/dev/null
  wait "$receiver_pid" 2>/dev/null
  status=$?
  return $status
}

event_field() { # CASE SIDE EVENT FIELD
  # (debug output, when enabled, goes to stdout too: keep the JSON lines)
  grep '^{' "$work/$1/$2/out.jsonl" 2>/dev/null |
    jq -r --arg e "$3" "select(.event == \$e) | .$4 // empty" 2>/dev/null | head -n 1
}

report() { # OK? DESCRIPTION CASE
  test_index=$((test_index + 1))
  if [ "$1" -eq 0 ]; then
    printf 'ok %d - %s\n' "$test_index" "$2"
  else
    failed=1
    printf 'not ok %d - %s\n' "$test_index" "$2"
    if [ -n "${3:-}" ]; then
      for f in "$work/$3"/*/err.log "$work/$3"/*/out.jsonl; do
        [ -s "$f" ] && { say "--- $f"; tail -n 15 "$f" | sed 's/^/#   /'; }
      done
    fi
  fi
}

# FERRY_NAT_ONLY=NAME runs one case (debugging).
selected() {
  if [ -n "${FERRY_NAT_ONLY:-}" ] && [ "$FERRY_NAT_ONLY" != "$1" ]; then
    test_index=$((test_index + 1))
    printf 'ok %d - %s # SKIP not selected\n' "$test_index" "$1"
    return 1
  fi
}

# run_case NAME NAT_A NAT_B EXPECTED_CHAIN_REGEX DESCRIPTION
run_case() {
  local name=$1 chain status=1 file=$work/$1.bin
  selected "$name" || return 0
  set_nat "${ns[ra]}" "$2"
  set_nat "${ns[rb]}" "$3"
  head -c 3145728 /dev/urandom > "$file"

  if start_receiver "$name" && send_file "$name" "$file" && wait_receiver; then
    chain=$(event_field "$name" a done chain)
    say "$name: $chain ($(event_field "$name" a done duration_ms) ms)"
    if cmp -s "$file" "$work/$name/b/received/$(basename "$file")" &&
       [[ $chain =~ $4 ]] && [[ ! $chain =~ lan ]]; then
      status=0
    else
      say "$name: expected a chain matching /$4/"
    fi
  fi
  report $status "$name: $2/$3 → $5" "$name"
}

# Cases {{{1

build_topology || skip_all "cannot build the namespaces"
start_coturn || { printf '1..1\nnot ok 1 - coturn did not start\n'; failed=1; exit 1; }
start_dht || { printf '1..1\nnot ok 1 - the dhtnode proxies did not start\n'; failed=1; exit 1; }

printf '1..%d\n' "$n_tests"

run_case cone-cone cone cone '^dht → ice \(udp, ' 'direct ICE'
run_case cone-symmetric cone symmetric '^dht → turn \(udp relay via 198\.51\.100\.1:3478' 'TURN relay'
run_case symmetric-symmetric symmetric symmetric '^dht → turn \(udp relay via 198\.51\.100\.1:3478' 'TURN relay'

# TURN down and symmetric NATs: the clear failure.
name=turn-down
selected "$name" && {
  status=1
  stop_coturn
  set_nat "${ns[ra]}" symmetric
  set_nat "${ns[rb]}" symmetric
  printf 'nothing gets through\n' > "$work/$name.txt"
  if CONNECT_TIMEOUT=6 start_receiver "$name"; then
    send_file "$name" "$work/$name.txt"
    sent_status=$?
    message=$(event_field "$name" a error message)
    say "$name: exit $sent_status: $message"
    if [ "$sent_status" -ne 0 ] && [[ $message == *"lan: "* ]] && [[ $message == *"ice: "* ]] &&
       [[ $message == *"turn: "*"198.51.100.1:3478 (udp) does not answer"* ]] &&
       [ -z "$(ls -A "$work/$name/b/received")" ]; then
      status=0
    fi
  fi
  kill -9 "$receiver_pid" 2>/dev/null
  wait "$receiver_pid" 2>/dev/null
  report $status "$name: symmetric/symmetric with the TURN server down → the error lists every transport" "$name"
  start_coturn >/dev/null || say "coturn did not restart"
}

# The link cut in the middle of a direct transfer.
name=link-cut
selected "$name" && {
  status=1
  set_nat "${ns[ra]}" cone
  set_nat "${ns[rb]}" cone
  head -c 400M /dev/zero > "$work/$name.bin"
  if start_receiver "$name"; then
    account=$(grep '^{' "$work/$name/b/out.jsonl" | jq -r 'select(.event == "ready") | .account')
    ip netns exec "${ns[ha]}" "$ferry" --home "$work/$name/a/home" "${common_args[@]}" \
      send --timeout 20 --to "$account" "$work/$name.bin" > "$work/$name/a/out.jsonl" 2> "$work/$name/a/err.log" &
    sender=$!
    pids+=("$sender")
    for _ in $(seq 300); do
      grep -q '"event":"progress"' "$work/$name/b/out.jsonl" 2>/dev/null && break
      sleep 0.05
    done
    in_ns "${ns[ra]}" ip link set wan down
    cut_at=$SECONDS
    wait "$sender"
    sent_status=$?
    wait_receiver
    received_status=$?
    say "$name: sender exit $sent_status ($(event_field "$name" a error message)), receiver exit $received_status, $((SECONDS - cut_at)) s after the cut"
    if [ "$sent_status" -ne 0 ] && [ "$received_status" -ne 0 ] && [ $((SECONDS - cut_at)) -le 40 ] &&
       [ ! -e "$work/$name/b/received/$name.bin" ]; then
      status=0
    fi
    in_ns "${ns[ra]}" ip link set wan up
  fi
  report $status "$name: the link cut in the middle → both sides end with an error" "$name"
}

exit "$failed"
