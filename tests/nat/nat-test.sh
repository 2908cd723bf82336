#!/usr/bin/env bash
# nat-test.sh: ferry through NAT routers, in network namespaces (root only)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   host A 10.0.1.2 ──┬ router A ──┐                    ┌── router B ── host B 10.0.2.2
#   host A2 10.0.1.3 ─┘  (10.0.1.0/24)                           (10.0.2.0/24)
#                        198.51.100.11   "internet"    198.51.100.12
#                                     198.51.100.1: coturn, 2 × dhtnode proxy
#                                     198.51.100.2: coturn's second address
#
# The routers masquerade (endpoint-independent mapping: "cone"), or with
# --random-fully (a new port per destination: "symmetric"), and drop every
# unsolicited packet, forwarded or addressed to themselves. `ferry` runs in
# the host namespaces with --interface eth0 and every transport enabled
# (lan, ice, turn), finding its peer through the dht signaling and an
# OpenDHT proxy on the internet side. Each case checks the file with cmp,
# the SHA3-256 both sides verified, and the path taken:
#
#   cone/cone            → direct ICE (udp), never the relay, never lan
#   cone/symmetric       → TURN relay
#   public/cone, public/symmetric → direct (ice, or lan: the NATed side
#                          may dial the public one), never the relay; without
#                          lan, ICE (host↔srflx, or a peer-reflexive candidate
#                          for the symmetric NAT)
#   symmetric/symmetric  → TURN relay
#   A and A2 behind one router → lan (or ICE host↔host), never the relay
#   UDP blocked at A (cone), B cone → TURN relay reached over TCP
#   UDP blocked at A, B public → ICE over TCP (or lan), never the relay
#   ferry doctor on A behind a cone, a symmetric, a public router, with
#                          UDP blocked and with nothing let out → the NAT
#                          mapping and the verdict,
#                          from two STUN servers and from one RFC 5780 server
#   symmetric + TURN down→ the transfer fails, and the error says what each
#                          transport tried (lan, ice, turn)
#   cone/cone, the link cut in the middle → both sides end with an error
#   a lossy link (40 ms RTT, 1% loss each way, bench/wan-link.c) → the UDP
#                          pair (QUIC) delivers the file intact
#   cone/cone with [ice] relay, the direct path blocked at A's router until
#                          the transfer runs over the relay → the stream
#                          moves to the direct pair; the chain and the done
#                          event give both paths and the bytes of each
#   symmetric/symmetric with turn alone → the file crosses the TURN server
#                          once (the sender's relay ↔ the receiver's own
#                          address), at the latest after a first
#                          relay ↔ relay pair
#
# Output is TAP. Without root or network namespaces the suite is skipped,
# unless FERRY_TEST_NO_SKIP is set (CI), where that is a failure. Only
# addresses inside the namespaces made here are used (10.x inside, TEST-NET-2
# outside); every namespace and process started is removed on exit, by name
# and by pid.
#
# Environment: FERRY_TOOL (the ferry binary), FERRY_PLUGIN_PATH (the build's
# plugins), FERRY_WAN_LINK (the build's bench/wan-link); all set by meson. FERRY_NAT_KEEP=1 keeps the work folder.
set -uo pipefail

source "$(dirname "$0")/nat-lib.sh"

ferry=${FERRY_TOOL:-}
wan_link=${FERRY_WAN_LINK:-}
work=
n_tests=20
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
  # Only the script itself cleans up: a child forked by it (and killed
  # before its exec) inherits this trap too.
  [ "$BASHPID" -eq "$$" ] || return 0
  nat_cleanup
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
[ -n "$wan_link" ] && [ -x "$wan_link" ] || skip_all "FERRY_WAN_LINK does not name the wan-link binary"
for tool in cmp jq; do
  command -v "$tool" >/dev/null || skip_all "$tool is not installed"
done
reason=$(nat_check) || skip_all "$reason"

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-nat.XXXXXX")

# Waiting {{{1
#
# Every wait is for an event (a line written, a process ending); the
# seconds given only bound a hang.

# await_line FILE TEXT PID SECONDS: whether a line of FILE holds TEXT
# before PID ends (tail follows the file through inotify).
await_line() {
  local file=$1 text=$2 pid=$3 line fd tailer status=1
  exec {fd}< <(exec timeout "$4" tail -n +1 -F --pid="$pid" "$file" 2>/dev/null)
  tailer=$!
  while IFS= read -r line <&"$fd"; do
    if [[ $line == *"$text"* ]]; then
      status=0
      break
    fi
  done
  exec {fd}<&-
  # tail is still running when a line matched (it follows the file), or
  # has ended with PID (then its pid is not signalled: it may be reused).
  [ $status -eq 0 ] && kill "$tailer" 2>/dev/null
  wait "$tailer" 2>/dev/null
  return $status
}

# wait_bounded PID SECONDS: waits for PID (a child) to end, killed after
# SECONDS; returns its exit status.
wait_bounded() {
  local pid=$1 guard ended= status
  sleep "$2" &
  guard=$!
  wait -n -p ended "$pid" "$guard"
  status=$?
  if [ "$ended" != "$pid" ]; then
    nat_stop "$pid"
    status=$?
  else
    # (SIGKILL: the guard may still be a fork of this shell, with its traps)
    nat_stop "$guard"
  fi
  return $status
}

# Transfers {{{1

turn_udp="turn:test:test@198.51.100.1:3478?transport=udp"
turn_tcp="turn:test:test@198.51.100.1:3478?transport=tcp"
common_args=(--interface eth0 --signaling dht --dht-proxy http://198.51.100.1:8000
             --transport "${FERRY_NAT_TRANSPORTS:-lan,ice,turn}" --stun 198.51.100.1:3478 --json)

# The sender (A) and the receiver (B): their namespaces and their own
# options (the TURN servers they use).
default_sides() {
  host_a=${ns[ha]} host_b=${ns[hb]}
  args_a=(--turn "$turn_udp") args_b=(--turn "$turn_udp")
}
default_sides

receiver_pid=

# start_receiver CASE
start_receiver() {
  local dir=$work/$1
  mkdir -p "$dir/b/home" "$dir/a/home" "$dir/b/received"
  printf '[core]\nname=bob\nconnect-timeout=%s\n' "${CONNECT_TIMEOUT:-10}" > "$dir/b/home/ferry.conf"
  printf '[core]\nname=alice\nconnect-timeout=%s\n' "${CONNECT_TIMEOUT:-10}" > "$dir/a/home/ferry.conf"
  # (EXTRA_CONF: more groups for both sides' ferry.conf)
  printf '%b' "${EXTRA_CONF:-}" | tee -a "$dir/a/home/ferry.conf" >> "$dir/b/home/ferry.conf"
  ip netns exec "$host_b" "$ferry" --home "$dir/b/home" "${common_args[@]}" "${args_b[@]}" \
    receive --yes --once --dir "$dir/b/received" > "$dir/b/out.jsonl" 2> "$dir/b/err.log" &
  receiver_pid=$!
  nat_pids+=("$receiver_pid")
  await_line "$dir/b/out.jsonl" '"event":"ready"' "$receiver_pid" 60
}

# send_file CASE FILE: runs the sender to its end; returns its exit status
send_file() {
  local dir=$work/$1 file=$2 account
  account=$(grep '^{' "$dir/b/out.jsonl" | jq -r 'select(.event == "ready") | .account')
  ip netns exec "$host_a" "$ferry" --home "$dir/a/home" "${common_args[@]}" "${args_a[@]}" \
    send --timeout 20 --to "$account" "$file" > "$dir/a/out.jsonl" 2> "$dir/a/err.log"
}

# (up to 60 s, beyond the 40 s the link-cut case allows)
wait_receiver() {
  wait_bounded "$receiver_pid" 60
}

event_field() { # CASE SIDE EVENT FIELD
  # (debug output, when enabled, goes to stdout too: keep the JSON lines)
  grep '^{' "$work/$1/$2/out.jsonl" 2>/dev/null |
    jq -r --arg e "$3" "select(.event == \$e) | .$4 // empty" 2>/dev/null | head -n 1
}

receiving_ms() { # CASE
  grep '^{' "$work/$1/b/out.jsonl" 2>/dev/null |
    jq -s '[.[] | select(.event == "done")][0].elapsed_ms - [.[] | select(.event == "progress")][0].elapsed_ms' \
      2>/dev/null
}

report() { # OK? DESCRIPTION CASE
  test_index=$((test_index + 1))
  if [ "$1" -eq 0 ]; then
    printf 'ok %d - %s\n' "$test_index" "$2"
  else
    failed=1
    printf 'not ok %d - %s\n' "$test_index" "$2"
    if [ -n "${3:-}" ]; then
      for f in "$work/$3"/*/err.log "$work/$3"/*/out.jsonl "$work/$3"/*.err "$work/$3"/*.json; do
        [ -s "$f" ] && { say "--- $f"; tail -n 15 "$f" | sed 's/^/#   /'; }
      done
    fi
  fi
}

# FERRY_NAT_ONLY=NAME runs one case, NAME|NAME… several (debugging).
selected() {
  if [ -n "${FERRY_NAT_ONLY:-}" ] && [[ ! $1 =~ ^($FERRY_NAT_ONLY)$ ]]; then
    test_index=$((test_index + 1))
    printf 'ok %d - %s # SKIP not selected\n' "$test_index" "$1"
    return 1
  fi
}

# verified CASE FILE: both sides' done events give FILE's SHA3-256
verified() {
  local digest
  digest=$(python3 -c 'import hashlib, sys; print(hashlib.sha3_256(open(sys.argv[1], "rb").read()).hexdigest())' "$2")
  [ "$(event_field "$1" a done 'files[0]["sha3-256"]')" = "$digest" ] &&
    [ "$(event_field "$1" b done 'files[0]["sha3-256"]')" = "$digest" ]
}

# set_router ROUTER cone|symmetric|public|cone+udp-blocked|cone+offline
set_router() {
  set_nat "$1" "${2%+*}"
  case $2 in
    *+udp-blocked) block_outbound "$1" udp ;;
    *+offline) block_outbound "$1" ;;
  esac
}

# run_case NAME NAT_A NAT_B EXPECTED_CHAIN_REGEX DESCRIPTION: unless the
# regex names lan, a chain with lan fails. The sides are those of
# default_sides unless the caller changed them.
run_case() {
  local name=$1 chain status=1 file=$work/$1.bin
  selected "$name" || return 0
  set_router "${ns[ra]}" "$2"
  set_router "${ns[rb]}" "$3"
  head -c 3145728 /dev/urandom > "$file"

  if start_receiver "$name" && send_file "$name" "$file" && wait_receiver; then
    chain=$(event_field "$name" a done chain)
    # (the receiver's time from its first progress to the end shows a
    # stall after the sender's last write)
    say "$name: $chain ($(event_field "$name" a done duration_ms) ms; receiver: $(receiving_ms "$name") ms from the first progress)"
    # The file arrived whole, and both sides verified its SHA3-256.
    if cmp -s "$file" "$work/$name/b/received/$(basename "$file")" && verified "$name" "$file" &&
       [[ $chain =~ $4 ]] && { [[ $4 == *lan* ]] || [[ ! $chain =~ lan ]]; }; then
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
# The relay: ice's relayed candidates ([ice] relay, on by default) or the
# turn transport, whichever connects first; seen from the sender, the
# pair goes through its own relay or through the peer's.
relay_udp="^dht → (ice|turn) \\((udp relay via 198\\.51\\.100\\.1:3478|udp via the peer's relay 198\\.51\\.100\\.1:[0-9]+), "
run_case cone-symmetric cone symmetric "$relay_udp" 'the TURN relay'
run_case symmetric-symmetric symmetric symmetric "$relay_udp" 'the TURN relay'
# A device with a public address: direct, through the NAT of the other side
# (lan may rightly win: the NATed side dials out).
run_case public-cone public cone '^dht → (ice|lan) \(' 'direct (ice or lan), never the relay'
run_case public-symmetric public symmetric '^dht → (ice|lan) \(' 'direct (ice via a peer-reflexive candidate, or lan)'
# The same without lan: ICE finds the way (the public side learns the
# symmetric NAT's mapping from the checks: a peer-reflexive candidate).
saved_args=("${common_args[@]}")
common_args=("${common_args[@]/lan,ice,turn/ice,turn}")
run_case public-symmetric-ice public symmetric '^dht → ice \(' 'direct ICE without lan, never the relay'
run_case public-cone-ice public cone '^dht → ice \(udp, ' 'direct ICE over UDP without lan, never the relay'
common_args=("${saved_args[@]}")

# Two devices behind one router: the path stays inside the home (lan, or
# ICE between host candidates), never the relay.
host_b=${ns[ha2]}
run_case same-router cone cone '^dht → (lan \(|ice \(udp, host↔host)' 'two hosts behind one router: lan or host ICE'
default_sides
# UDP blocked at one side (its router forwards TCP only; its device knows
# the TURN server over TCP): the relay, reached over TCP by that side.
args_a=(--turn "$turn_tcp")
run_case udp-blocked-cone cone+udp-blocked cone '^dht → (ice|turn) \(tcp relay via 198\.51\.100\.1:3478, relay↔' \
  'UDP blocked at A → TURN over TCP'
# … and towards a device with a public address: ICE over TCP (or lan).
run_case udp-blocked-public cone+udp-blocked public '^dht → (ice \(tcp, |lan \()' \
  'UDP blocked at A, B public → ICE over TCP or lan, never the relay'
default_sides

# ferry doctor {{{1
#
# `ferry doctor --json` on host A behind each kind of router, asking
# coturn as two STUN servers (198.51.100.2:3478 and the TURN server on
# 198.51.100.1:3478), as one RFC 5780 server (198.51.100.1:3478 alone,
# which names its other address, 198.51.100.2:3479), and as two servers on
# one IP (198.51.100.1:3479 and :3478; then the other address). Each
# asserts the NAT mapping and the verdict.

# doctor_json CASE LABEL ARGS…: the report of a doctor run on host A
doctor_json() {
  local dir=$work/$1
  mkdir -p "$dir/home-$2"
  ip netns exec "${ns[ha]}" "$ferry" --home "$dir/home-$2" --interface eth0 --signaling dht \
    --dht-proxy http://198.51.100.1:8000 --json "${@:3}" doctor --timeout 1 \
    > "$dir/$2.json" 2> "$dir/$2.err"
}

# doctor_case ROUTER MAPPING VERDICT_CODE VERDICT_CODE_WITHOUT_STUN: the
# last run gives no STUN server (the TURN server is asked as one, but ICE
# has none: no reflexive candidate).
doctor_case() {
  local name=doctor-$1 status=1 dir=$work/doctor-$1 how got answered verdict
  selected "$name" || return 0
  set_router "${ns[ra]}" "$1"
  mkdir -p "$dir"
  if doctor_json "$name" two --stun 198.51.100.2:3478 --turn "$turn_udp" &&
     doctor_json "$name" rfc5780 --stun 198.51.100.1:3478 --turn "$turn_udp" &&
     doctor_json "$name" no-stun --turn "$turn_udp" &&
     doctor_json "$name" one-ip --stun 198.51.100.1:3479 --turn "$turn_udp"; then
    status=0
    for how in two rfc5780 no-stun one-ip; do
      got=$(jq -r '"\(.nat.mapping) \(.verdict_code) \(.udp) \(.nat.address)"' "$dir/$how.json")
      answered=$(jq -r '[.stun[] | select(.answered) | .server] | join(" ")' "$dir/$how.json")
      say "$name ($how): mapping, verdict, udp, address: $got; answered: $answered"
      verdict=$3
      [ "$how" = no-stun ] && verdict=$4
      [[ $got == "$2 $verdict works "* ]] || status=1
    done
    # Both ways asked two addresses of the server: the second was the
    # other address named by the first answer in the RFC 5780 run.
    [ "$(jq -r '[.stun[] | select(.answered)] | length' "$dir/two.json")" -eq 2 ] || status=1
    [ "$(jq -r '.stun[1].server' "$dir/rfc5780.json")" = 198.51.100.2:3479 ] || status=1
    # Two servers on one IP do not tell the mapping (a NAT may map per
    # destination address): the other address, on the second IP, does.
    [ "$(jq -r '[.stun[] | select(.answered)] | length' "$dir/one-ip.json")" -eq 3 ] || status=1
    [[ $(jq -r '.stun[2].server' "$dir/one-ip.json") == 198.51.100.2:* ]] || status=1
  fi
  report $status "$name: behind a $1 router → mapping $2, verdict $3 ($4 without STUN)" "$name"
}

doctor_case cone endpoint-independent direct direct-disabled
doctor_case symmetric endpoint-dependent relay relay
doctor_case public none public public

# UDP blocked: no STUN server answers, the TURN server does over TCP.
name=doctor-udp-blocked
selected "$name" && {
  status=1
  set_router "${ns[ra]}" cone+udp-blocked
  mkdir -p "$work/$name"
  if doctor_json "$name" tcp --stun 198.51.100.2:3478 --turn "$turn_tcp"; then
    got=$(jq -r '"\(.nat.mapping) \(.verdict_code) \(.udp) \(.turn[0].allocation)"' "$work/$name/tcp.json")
    say "$name: mapping, verdict, udp, TCP allocation: $got"
    [ "$got" = "unknown relay-tcp blocked true" ] && status=0
  fi
  report $status "$name: UDP blocked, TURN over TCP → verdict relay-tcp" "$name"
}

# Nothing leaves the home network: no server answers, UDP is not said to
# be blocked, the devices of this network remain (multicast works).
name=doctor-isolated
selected "$name" && {
  status=1
  set_router "${ns[ra]}" cone+offline
  mkdir -p "$work/$name"
  if doctor_json "$name" offline --stun 198.51.100.2:3478 --turn "$turn_udp" --turn "$turn_tcp"; then
    got=$(jq -r '"\(.nat.mapping) \(.verdict_code) \(.udp) \(.interfaces[0].multicast)"' "$work/$name/offline.json")
    say "$name: mapping, verdict, udp, multicast: $got"
    [ "$got" = "unknown isolated unknown true" ] && status=0
  fi
  report $status "$name: nothing leaves the network → verdict isolated" "$name"
}

# TURN down and symmetric NATs: the clear failure.
name=turn-down
selected "$name" && {
  status=1
  stop_coturn
  set_nat "${ns[ra]}" symmetric
  set_nat "${ns[rb]}" symmetric
  printf 'nothing gets through\n' > "$work/$name.txt"
  # connect-timeout also bounds how long each side waits for its
  # transports' descriptions; ice and turn no longer wait for a TURN
  # server their probe found silent, but a probe that gets no ICMP answer
  # takes up to 1 s: the default 10 s leaves room on a loaded machine
  # (with 6 s and the old 3 s wait, the error once lacked turn).
  if CONNECT_TIMEOUT=10 start_receiver "$name"; then
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
  nat_stop "$receiver_pid"
  report $status "$name: symmetric/symmetric with the TURN server down → the error lists every transport" "$name"
  start_coturn >/dev/null || say "coturn did not restart"
}

# The link cut in the middle of a direct transfer.
name=link-cut
selected "$name" && {
  status=1
  set_nat "${ns[ra]}" cone
  set_nat "${ns[rb]}" cone
  head -c 200M /dev/zero > "$work/$name.bin"
  if start_receiver "$name"; then
    account=$(grep '^{' "$work/$name/b/out.jsonl" | jq -r 'select(.event == "ready") | .account')
    ip netns exec "$host_a" "$ferry" --home "$work/$name/a/home" "${common_args[@]}" "${args_a[@]}" \
      send --timeout 20 --to "$account" "$work/$name.bin" > "$work/$name/a/out.jsonl" 2> "$work/$name/a/err.log" &
    sender=$!
    nat_pids+=("$sender")
    await_line "$work/$name/b/out.jsonl" '"event":"progress"' "$receiver_pid" 20
    in_ns "${ns[ra]}" ip link set wan down
    cut_at=$SECONDS
    wait_bounded "$sender" 60
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

# A lossy link: 20 ms each way and 1% loss each way, emulated in user space
# between two namespaces (bench/wan-link.c), and a transfer over the UDP
# pair only: QUIC recovers every lost datagram.
name=lossy-link
selected "$name" && {
  status=1
  dir=$work/$name
  mkdir -p "$dir/a" "$dir/b"
  port=$((20000 + RANDOM % 20000))
  for side in a b; do
    printf '[local-broadcast]\nport=%s\n[ice]\ntcp=false\n' "$port" > "$dir/$side/ferry.conf"
  done
  "$wan_link" "${ns[la]}" tun-a "${ns[lb]}" tun-b 20 0.01 7 \
    > "$dir/link.out" 2> "$dir/link.log" &
  nat_pids+=($!)
  await_line "$dir/link.out" ready $! 10
  in_ns "${ns[la]}" ip addr add 10.98.0.1/30 dev tun-a
  in_ns "${ns[lb]}" ip addr add 10.98.0.2/30 dev tun-b
  in_ns "${ns[la]}" ip link set tun-a up multicast on
  in_ns "${ns[lb]}" ip link set tun-b up multicast on
  lossy_args=(--interface tun-X --signaling local-broadcast --transport ice --json)
  head -c 3145728 /dev/urandom > "$work/$name.bin"
  ip netns exec "${ns[lb]}" "$ferry" --home "$dir/b" "${lossy_args[@]/tun-X/tun-b}" \
    receive --yes --once --dir "$dir/b/received" > "$dir/b/out.jsonl" 2> "$dir/b/err.log" &
  receiver_pid=$!
  nat_pids+=("$receiver_pid")
  await_line "$dir/b/out.jsonl" '"event":"ready"' "$receiver_pid" 20
  account=$(grep '^{' "$dir/b/out.jsonl" | jq -r 'select(.event == "ready") | .account')
  if ip netns exec "${ns[la]}" "$ferry" --home "$dir/a" "${lossy_args[@]/tun-X/tun-a}" \
       send --timeout 20 --to "$account" "$work/$name.bin" > "$dir/a/out.jsonl" 2> "$dir/a/err.log" &&
     wait_receiver; then
    chain=$(event_field "$name" a done chain)
    say "$name: $chain ($(event_field "$name" a done duration_ms) ms)"
    cmp -s "$work/$name.bin" "$dir/b/received/$name.bin" && [[ $chain == *"ice (udp, "* ]] && status=0
  fi
  report $status "$name: 40 ms RTT, 1% loss each way → the UDP pair (QUIC) delivers the file intact" "$name"
}

# Relay → direct without restarting: both sides with [ice] relay (the UDP
# agent gathers relayed candidates too), cone/cone, and router A dropping
# UDP between the two routers (the direct pairs) until the receiver reports
# progress over the relay and at least 4 s have passed: longer than
# libnice's own check retransmissions last (3.5 s), so the direct path
# opens after the checks "failed at first". Then the rules go, the checks
# that go on while a relay carries the transfer get through, the direct
# pair is selected, and QUIC carries on over it. A's link is capped (tbf)
# so that the transfer lasts beyond the switch (8 MiB at 6 mbit: ~11 s).
name=relay-to-direct
selected "$name" && {
  status=1
  dir=$work/$name
  set_nat "${ns[ra]}" cone
  set_nat "${ns[rb]}" cone
  direct_rules=("FORWARD -p udp -d 198.51.100.12 -j DROP" "FORWARD -p udp -s 198.51.100.12 -j DROP")
  for rule in "${direct_rules[@]}"; do in_ns "${ns[ra]}" iptables -I $rule; done
  in_ns "$host_a" tc qdisc replace dev eth0 root tbf rate 6mbit burst 64kb latency 400ms
  head -c 8388608 /dev/urandom > "$work/$name.bin"
  saved_args=("${common_args[@]}")
  common_args=("${common_args[@]/lan,ice,turn/ice,turn}")
  if EXTRA_CONF='[ice]\nrelay=true\n' start_receiver "$name"; then
    account=$(grep '^{' "$dir/b/out.jsonl" | jq -r 'select(.event == "ready") | .account')
    ip netns exec "$host_a" "$ferry" --home "$dir/a/home" "${common_args[@]}" "${args_a[@]}" \
      send --timeout 20 --to "$account" "$work/$name.bin" > "$dir/a/out.jsonl" 2> "$dir/a/err.log" &
    sender=$!
    nat_pids+=("$sender")
    started=$EPOCHREALTIME
    await_line "$dir/b/out.jsonl" '"event":"progress"' "$receiver_pid" 20
    # The direct path opens late (the scenario, not a wait for an event).
    sleep "$(awk -v s="$started" -v n="$EPOCHREALTIME" 'BEGIN { d = s + 4 - n; print (d > 0 ? d : 0) }')"
    say "$name: the transfer runs ($(grep -c '"event":"progress"' "$dir/b/out.jsonl") progress events): the direct path opens"
    for rule in "${direct_rules[@]}"; do in_ns "${ns[ra]}" iptables -D $rule; done
    wait_bounded "$sender" 60
    sent_status=$?
    wait_receiver
    chain=$(event_field "$name" a done chain)
    paths=$(grep '^{' "$dir/a/out.jsonl" | jq -c 'select(.event == "done") | [.paths[] | .bytes]')
    say "$name: $chain; bytes per path: $paths ($(event_field "$name" a done duration_ms) ms)"
    say "$name: receiver: $(event_field "$name" b done chain)"
    # `ferry history` keeps the chain with both paths.
    history=$("$ferry" --home "$dir/a/home" --json history 2>/dev/null | grep '^{' | jq -r '.chain // empty' | tail -n 1)
    say "$name: history: $history"
    # (our relay, or the peer's relayed address: both on the TURN server)
    relay="ice \\((udp relay via 198\\.51\\.100\\.1:3478|udp via the peer's relay 198\\.51\\.100\\.1:[0-9]+), [a-z]+↔[a-z]+\\) \\[[0-9]+ bytes\\]"
    if [ "$sent_status" -eq 0 ] && cmp -s "$work/$name.bin" "$dir/b/received/$name.bin" &&
       verified "$name" "$work/$name.bin" &&
       [[ $chain =~ ^dht\ →\ $relay\ ⇒\ ice\ \(udp,\ (srflx|prflx|host)↔ ]] &&
       [[ $(event_field "$name" b done chain) =~ $relay\ ⇒\ ice\ \(udp, ]] &&
       [ "$(jq -n --argjson p "$paths" '($p | length) == 2 and ($p | all(. > 0)) and ($p | add) == 8388608')" = true ] &&
       [ "$history" = "$chain" ]; then
      status=0
    fi
  fi
  common_args=("${saved_args[@]}")
  in_ns "$host_a" tc qdisc del dev eth0 root 2>/dev/null
  report $status "$name: cone/cone, direct blocked at first → starts on the relay, moves to the direct pair, file verified" "$name"
}

# The turn transport alone, symmetric/symmetric: only the offerer (the
# sender) relays; the receiver reaches that relay from its own address,
# so the data crosses the TURN server once. Its first checks from there
# may arrive before the sender's permission for its address, so the
# transfer may start relay ↔ relay (through both allocations) and move;
# it must end on the sender's relay ↔ the receiver's address. A's link is
# capped (4 MiB at 6 mbit: ~6 s) so that the transfer outlasts the
# receiver's check retransmissions.
name=turn-once
selected "$name" && {
  status=1
  dir=$work/$name
  set_nat "${ns[ra]}" symmetric
  set_nat "${ns[rb]}" symmetric
  in_ns "$host_a" tc qdisc replace dev eth0 root tbf rate 6mbit burst 64kb latency 400ms
  saved_args=("${common_args[@]}")
  common_args=("${common_args[@]/lan,ice,turn/turn}")
  file=$work/$name.bin
  head -c 4194304 /dev/urandom > "$file"
  if start_receiver "$name" && send_file "$name" "$file" && wait_receiver; then
    chain=$(event_field "$name" a done chain)
    last=$(grep '^{' "$dir/a/out.jsonl" | jq -r 'select(.event == "done") | .paths[-1].transport')
    paths=$(grep '^{' "$dir/a/out.jsonl" | jq -c 'select(.event == "done") | [.paths[] | .bytes]')
    say "$name: $chain; bytes per path: $paths ($(event_field "$name" a done duration_ms) ms)"
    if cmp -s "$file" "$dir/b/received/$name.bin" && verified "$name" "$file" &&
       [[ $last =~ ^turn\ \(udp\ relay\ via\ 198\.51\.100\.1:3478,\ relay↔(srflx|prflx|host)\)$ ]] &&
       [ "$(jq -n --argjson p "$paths" '($p | all(. > 0)) and ($p | add) == 4194304')" = true ]; then
      status=0
    fi
  fi
  common_args=("${saved_args[@]}")
  in_ns "$host_a" tc qdisc del dev eth0 root 2>/dev/null
  report $status "$name: symmetric/symmetric, turn alone → the data crosses the TURN server once" "$name"
}

exit "$failed"
