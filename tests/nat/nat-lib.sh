# nat-lib.sh: network namespaces with NAT routers, coturn and dhtnode
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sourced by tests/nat/nat-test.sh and bench/ice.sh (bash, root):
#
#   host A 10.0.1.2 ──┬ router A ──┐                    ┌── router B ── host B 10.0.2.2
#   host A2 10.0.1.3 ─┘  (10.0.1.0/24)                           (10.0.2.0/24)
#                        198.51.100.11   "internet"    198.51.100.12
#                                     198.51.100.1: coturn, 2 × dhtnode proxy
#                                     198.51.100.2: coturn's second address
#
# Each router's inside network is a bridge named lan (router A has two
# hosts on it, A and A2, for a transfer that never leaves the home).
# The caller sets $work (a folder for logs) and calls nat_cleanup on exit.
# Every namespace is named after this shell's pid, every process started is
# remembered in $nat_pids and killed by pid.

nat_tag=fn$$
inet=$nat_tag-inet
declare -A ns=( [ra]=$nat_tag-ra [rb]=$nat_tag-rb [ha]=$nat_tag-ha [ha2]=$nat_tag-ha2 [hb]=$nat_tag-hb
                [la]=$nat_tag-la [lb]=$nat_tag-lb )  # la, lb: two ends of a lossy link
nat_pids=()

# nat_stop [-SIGNAL] PID: kills PID if it is still a running job of this
# shell (a pid that ended may already be another process's: pids wrap
# quickly on a busy machine), and reaps it. Returns its status.
nat_stop() {
  local signal=-9
  if [[ $1 == -* ]]; then signal=$1; shift; fi
  if [[ " $(jobs -pr | tr '\n' ' ') " == *" $1 "* ]]; then
    kill "$signal" "$1" 2>/dev/null
  fi
  wait "$1" 2>/dev/null
}

nat_cleanup() {
  local pid name
  for pid in "${nat_pids[@]}"; do
    nat_stop "$pid"
  done
  for name in "${ns[@]}" "$inet"; do
    ip netns del "$name" 2>/dev/null
  done
}

# Whether namespaces can be made here; the reason on stdout when not.
nat_check() {
  local tool
  [ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, iptables)"; return 1; }
  for tool in ip iptables turnserver dhtnode python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed"; return 1; }
  done
  [ -c /dev/net/tun ] || { echo "no /dev/net/tun (the lossy link needs TUN devices)"; return 1; }
  ip netns add "$inet" 2>/dev/null || { echo "ip netns is not permitted here"; return 1; }
  ip netns exec "$inet" iptables -L -n >/dev/null 2>&1 ||
    { echo "iptables does not work in a network namespace"; return 1; }
}

# Topology

in_ns() { local name=$1; shift; ip netns exec "$name" "$@"; }

set_up_namespace() {
  in_ns "$1" ip link set lo up
  in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

build_topology() {
  local name
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
  in_ns "$inet" ip addr add 198.51.100.2/24 dev br0
  in_ns "$inet" ip link set br0 up
  in_ns "$inet" ip route add default dev br0
  # The inside networks are reachable through their routers; a NATing
  # router drops what nobody asked for, a "public" one forwards it.
  in_ns "$inet" sysctl -qw net.ipv4.ip_forward=1

  local side octet
  for side in a b; do
    [ "$side" = a ] && octet=11 || octet=12
    local router=${ns[r$side]} host=${ns[h$side]} net=10.0.$([ "$side" = a ] && echo 1 || echo 2)
    ip link add wan netns "$router" type veth peer name "wan-$side" netns "$inet"
    in_ns "$inet" ip link set "wan-$side" master br0 up
    in_ns "$router" ip addr add "198.51.100.$octet/24" dev wan
    in_ns "$router" ip link set wan up
    in_ns "$router" ip route add default via 198.51.100.1

    in_ns "$router" ip link add lan type bridge mcast_snooping 0
    # Frames between two hosts of the lan are switched, not routed: keep
    # them out of the router's iptables (br_netfilter) where it is loaded.
    in_ns "$router" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null
    in_ns "$router" ip addr add "$net.1/24" dev lan
    in_ns "$router" ip link set lan up
    in_ns "$router" sysctl -qw net.ipv4.ip_forward=1
    add_host "$router" "$host" "$net" 2 port0
    if [ "$side" = a ]; then add_host "$router" "${ns[ha2]}" "$net" 3 port1; fi
    in_ns "$inet" ip route add "$net.0/24" via "198.51.100.$octet"
  done
}

# add_host ROUTER HOST NET LAST_OCTET PORT: HOST's eth0 on ROUTER's lan
add_host() {
  ip link add "$5" netns "$1" type veth peer name eth0 netns "$2"
  in_ns "$1" ip link set "$5" master lan up
  in_ns "$2" ip addr add "$3.$4/24" dev eth0
  in_ns "$2" ip link set eth0 up
  in_ns "$2" ip route add default via "$3.1"
}

# nat ROUTER cone|symmetric
set_nat() {
  local router=$1 kind=$2 random=()
  [ "$kind" = symmetric ] && random=(--random-fully)
  in_ns "$router" iptables -t nat -F
  in_ns "$router" iptables -F
  in_ns "$router" conntrack -F 2>/dev/null
  if [ "$kind" = public ]; then
    # No NAT and no firewall: the host's address is reachable from the
    # internet (through the routes build_topology gave it).
    in_ns "$router" iptables -P FORWARD ACCEPT
    in_ns "$router" iptables -P INPUT ACCEPT
    return 0
  fi
  in_ns "$router" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE "${random[@]}"
  in_ns "$router" iptables -P FORWARD DROP
  in_ns "$router" iptables -A FORWARD -i lan -o wan -j ACCEPT
  in_ns "$router" iptables -A FORWARD -i lan -o lan -j ACCEPT
  in_ns "$router" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  # Unsolicited packets to the router itself are dropped too, or a cone
  # NAT behaves like a symmetric one.
  in_ns "$router" iptables -P INPUT DROP
  in_ns "$router" iptables -A INPUT -i lo -j ACCEPT
  in_ns "$router" iptables -A INPUT -i lan -j ACCEPT
  in_ns "$router" iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
}

# block_outbound ROUTER [udp]: the router forwards nothing outwards (or
# no UDP: only TCP leaves this network); set_nat clears it.
block_outbound() {
  in_ns "$1" iptables -I FORWARD -i lan -o wan ${2:+-p "$2"} -j DROP
}

# Servers

coturn_pid=

start_coturn() {
  # `ip netns exec` execs the command: $! is the server's pid. With two
  # listening addresses coturn answers as an RFC 5780 server too (its
  # other address: 198.51.100.2:3479), and a client can ask it as two
  # STUN servers (198.51.100.1:3478 and 198.51.100.2:3478).
  ip netns exec "$inet" turnserver -n --no-cli --no-tls --no-dtls \
    --listening-ip=198.51.100.1 --listening-ip=198.51.100.2 --listening-port=3478 \
    --relay-ip=198.51.100.1 \
    --min-port=49160 --max-port=49300 --lt-cred-mech --user=test:test \
    --realm=ferry.test --fingerprint --no-stdout-log \
    --userdb="$work/turndb" --pidfile="$work/turn.pid" --log-file="$work/turn.log" \
    --simple-log >/dev/null 2>&1 &
  coturn_pid=$!
  nat_pids+=("$coturn_pid")
  # Ready when it listens (< 1.5 s unloaded; up to 30 s only guards
  # against a hang).
  for _ in $(seq 600); do
    in_ns "$inet" bash -c 'exec 3<>/dev/tcp/198.51.100.1/3478' 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

stop_coturn() {
  nat_stop -TERM "$coturn_pid"
}

http() { # NS HOST PORT REQUEST → the raw answer
  in_ns "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "%b" "$2" >&3; timeout 3 cat <&3' "$2" "$3" "$4"
}

start_dht() {
  local network=$((RANDOM * 32768 + RANDOM + 1))
  ip netns exec "$inet" dhtnode -s -n "$network" -p 4222 --proxyserver 8000 --proxy-addr 198.51.100.1 \
    > "$work/dhtnode-1.log" 2>&1 < /dev/null &
  nat_pids+=($!)
  ip netns exec "$inet" dhtnode -s -n "$network" -p 4223 -b 198.51.100.1:4222 --proxyserver 8001 \
    --proxy-addr 198.51.100.1 > "$work/dhtnode-2.log" 2>&1 < /dev/null &
  nat_pids+=($!)

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

# netem ROUTER DELAY LOSS: emulate a WAN on the router's outside link
# (both directions: the delay is added where packets leave the router and
# where they leave the internet towards it). Fails when the kernel has no
# netem.
set_wan() {
  local side=${1: -1}
  ip netns exec "$1" tc qdisc replace dev wan root netem delay "$2" loss "$3" 2>/dev/null &&
    ip netns exec "$inet" tc qdisc replace dev "wan-$side" root netem delay "$2" loss "$3" 2>/dev/null
}

clear_wan() {
  local side=${1: -1}
  ip netns exec "$1" tc qdisc del dev wan root 2>/dev/null
  ip netns exec "$inet" tc qdisc del dev "wan-$side" root 2>/dev/null
  return 0
}
