#!/usr/bin/env bash
# Ferry against scp, rsync over ssh and magic-wormhole, on this machine,
# over loopback only.
#
#   bench/compare.sh [SIZE] [RUNS]     SIZE for head -c (default 1G), RUNS per
#                                      tool (default 3)
#   bench/compare.sh --folder [RUNS]   10,000 files of 4 KiB in 100 folders
#
# Every peer is started here and stopped by its pid: an sshd on a loopback
# port with a throwaway host and user key, the magic-wormhole mailbox and
# transit relay (twistd3) on loopback, and a ferry receiver per run. Runs
# alternate between tools; each result is checked with cmp (diff -r for the
# folder). For each tool it prints the median wall time (start of the
# receiving side to the end of both), MB/s, CPU seconds (user + system of the
# processes we start; scp and rsync: the client side only, sshd forks its
# session away from us), and the peak RSS of the largest process we start.
# The last lines give Ferry's speed as a ratio to each tool.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
cache=${FERRY_BENCH_DIR:-/tmp/ferry-bench}

mode=file
if [ "${1:-}" = "--folder" ]; then
  mode=folder
  shift
  runs=${1:-3}
else
  size=${1:-1G}
  runs=${2:-3}
fi

need=(openssh-server openssh-client rsync magic-wormhole
      python3-magic-wormhole-mailbox-server magic-wormhole-transit-relay time)
missing=()
for package in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "compare.sh: run as root to install ${missing[*]}" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$root/scripts/install-deps.sh" --build
"$root/scripts/build.sh" >/dev/null

ferry=$build/tools/ferry
export FERRY_PLUGIN_PATH=$build/plugins
export FERRY_PLUGIN_SYSTEM_PATH=
TIME=/usr/bin/time

mkdir -p "$cache"
work=$(mktemp -d "$cache/compare.XXXXXX")
pids=()
cleanup() {
  status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "compare.sh failed; logs are in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# The data {{{1
if [ "$mode" = file ]; then
  data=$cache/data-$size.bin
  if [ ! -s "$data" ]; then
    echo "Making $data (once)..."
    head -c "$size" /dev/urandom > "$data.tmp"
    mv "$data.tmp" "$data"
  fi
  bytes=$(stat -c %s "$data")
else
  data=$cache/tree-10000x4k/tree
  if [ ! -d "$data" ]; then
    echo "Making $data (once)..."
    mkdir -p "$data.tmp"
    for d in $(seq -w 0 99); do
      mkdir -p "$data.tmp/dir$d"
      for f in $(seq -w 0 99); do
        head -c 4096 /dev/urandom > "$data.tmp/dir$d/file$f.bin"
      done
    done
    mv "$data.tmp" "$data"
  fi
  bytes=$(du -sb --apparent-size "$data" | cut -f1)
fi

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# sshd on loopback with throwaway keys {{{1
ssh_port=$(free_port)
mkdir -p "$work/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/user_key"
cat > "$work/ssh/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/ssh/host_key
PidFile none
AuthorizedKeysFile $work/ssh/user_key.pub
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" 2> "$work/sshd.log" &
pids+=($!)
wait_port "$ssh_port"
ssh_opts=(-i "$work/ssh/user_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o LogLevel=ERROR -o BatchMode=yes)
user=$(id -un)

# magic-wormhole mailbox and transit relay on loopback {{{1
mailbox_port=$(free_port)
relay_port=$(free_port)
(cd "$work" && exec twistd3 -n --pidfile= wormhole-mailbox \
   --port="tcp:$mailbox_port:interface=127.0.0.1" --channel-db="$work/mailbox.sqlite") \
   > "$work/mailbox.log" 2>&1 &
pids+=($!)
(cd "$work" && exec twistd3 -n --pidfile= transitrelay --port="tcp:$relay_port:interface=127.0.0.1") \
   > "$work/relay.log" 2>&1 &
pids+=($!)
wait_port "$mailbox_port"
wait_port "$relay_port"

# One run per tool {{{1
# Each run_* prints "wall cpu rss_kib" and leaves the copy in $out.

now() { date +%s.%N; }

# time -f output of a process: "user sys maxrss_kib"
timed() {
  local log=$1; shift
  "$TIME" -f '%U %S %M' -o "$log" "$@"
}

sum_times() {
  awk '{ cpu += $1 + $2; if ($3 > rss) rss = $3 } END { printf "%.2f %d\n", cpu, rss }' "$@"
}

check_copy() {
  if [ "$mode" = file ]; then
    cmp "$data" "$1"
  else
    diff -r "$data" "$1" >/dev/null
  fi
}

run_scp() {
  local out=$work/out-scp t0 t1
  rm -rf "$out"
  t0=$(now)
  timed "$work/t-scp" scp -q -r -P "$ssh_port" "${ssh_opts[@]}" "$data" "$user@127.0.0.1:$out"
  t1=$(now)
  check_copy "$out"
  rm -rf "$out"
  echo "$(echo "$t1 - $t0" | bc -l) $(sum_times "$work/t-scp")"
}

run_rsync() {
  local out=$work/out-rsync t0 t1
  rm -rf "$out"
  t0=$(now)
  timed "$work/t-rsync" rsync -a -e "ssh -p $ssh_port ${ssh_opts[*]}" "$data" "$user@127.0.0.1:$out"
  t1=$(now)
  check_copy "$out"
  rm -rf "$out"
  echo "$(echo "$t1 - $t0" | bc -l) $(sum_times "$work/t-rsync")"
}

run_wormhole() {
  local dir=$work/wh code t0 t1 recv_pid
  rm -rf "$dir"; mkdir -p "$dir"
  code="7-$RANDOM-ferry"
  t0=$(now)
  (cd "$dir" && timed "$work/t-wh-send" wormhole --relay-url "ws://127.0.0.1:$mailbox_port/v1" \
     --transit-helper "tcp:127.0.0.1:$relay_port" send --hide-progress --code "$code" "$data" \
     > "$work/wh-send.log" 2>&1) &
  local send_pid=$!
  (cd "$dir" && timed "$work/t-wh-recv" wormhole --relay-url "ws://127.0.0.1:$mailbox_port/v1" \
     --transit-helper "tcp:127.0.0.1:$relay_port" receive --hide-progress --accept-file \
     -o "$dir/copy" "$code" > "$work/wh-recv.log" 2>&1)
  wait "$send_pid"
  t1=$(now)
  check_copy "$dir/copy"
  rm -rf "$dir"
  echo "$(echo "$t1 - $t0" | bc -l) $(sum_times "$work/t-wh-send" "$work/t-wh-recv")"
}

ferry_port=$(free_port)
for side in sender receiver; do
  mkdir -p "$work/ferry-$side"
  printf '[local-broadcast]\nport=%s\n' "$ferry_port" > "$work/ferry-$side/ferry.conf"
done

run_ferry() {
  local dir=$work/ferry-received t0 t1 recv_pid account copy
  rm -rf "$dir"
  : > "$work/ferry-recv.jsonl"
  t0=$(now)
  timed "$work/t-ferry-recv" "$ferry" --home "$work/ferry-receiver" --interface lo --json \
    receive --yes --once --dir "$dir" > "$work/ferry-recv.jsonl" 2> "$work/ferry-recv.log" &
  recv_pid=$!
  for _ in $(seq 400); do
    grep -q '"event":"ready"' "$work/ferry-recv.jsonl" 2>/dev/null && break
    sleep 0.01
  done
  account=$(jq -r 'select(.event == "ready") | .account' "$work/ferry-recv.jsonl")
  timed "$work/t-ferry-send" "$ferry" --home "$work/ferry-sender" --interface lo --json \
    send --to "${account:0:12}" "$data" > "$work/ferry-send.jsonl" 2> "$work/ferry-send.log"
  wait "$recv_pid"
  t1=$(now)
  if [ "$mode" = file ]; then
    copy=$(jq -r 'select(.event == "done") | .files[0].path' "$work/ferry-recv.jsonl")
  else
    copy=$dir/$(basename "$data")
  fi
  check_copy "$copy"
  rm -rf "$dir"
  echo "$(echo "$t1 - $t0" | bc -l) $(sum_times "$work/t-ferry-send" "$work/t-ferry-recv")"
}

tools=(ferry scp rsync wormhole)
for tool in "${tools[@]}"; do : > "$work/results-$tool"; done

echo "== $runs runs per tool, alternating; $(numfmt --to=iec "$bytes")B ($mode)"
for run in $(seq "$runs"); do
  for tool in "${tools[@]}"; do
    if result=$("run_$tool"); then
      echo "$result" >> "$work/results-$tool"
      echo "   run $run $tool: $result"
    else
      echo "   run $run $tool: failed (logs in $work)" >&2
      exit 1
    fi
  done
done

# Medians {{{1
median() {
  sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
printf '%-10s %9s %9s %8s %11s\n' tool "wall s" "MB/s" "CPU s" "peak RSS"
declare -A wall
for tool in "${tools[@]}"; do
  w=$(cut -d' ' -f1 "$work/results-$tool" | median)
  c=$(cut -d' ' -f2 "$work/results-$tool" | median)
  r=$(cut -d' ' -f3 "$work/results-$tool" | median)
  wall[$tool]=$w
  awk -v t="$tool" -v w="$w" -v c="$c" -v r="$r" -v b="$bytes" \
    'BEGIN { printf "%-10s %9.2f %9.1f %8.2f %8.1f MiB\n", t, w, b / 1e6 / w, c, r / 1024 }'
done
echo
for tool in scp rsync wormhole; do
  awk -v t="$tool" -v f="${wall[ferry]}" -v o="${wall[$tool]}" \
    'BEGIN { printf "ferry is %.2fx the speed of %s\n", o / f, t }'
done
