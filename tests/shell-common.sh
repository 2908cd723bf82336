# shell-common.sh: what the shell test scripts share; sourced, not run:
#
#   . "${G_TEST_SRCDIR:-$(dirname "$0")}/shell-common.sh"
#
# (meson sets G_TEST_SRCDIR to this folder.) Sets $ferry, the tool under
# test (FERRY_TOOL, when set), and $work, a fresh directory removed at
# exit together with the receiver whose pid a script keeps in
# $receiver_pid; a failed script (or KEEP=1) keeps $work and says where.
# `result` and `skip` print TAP lines numbered in $n and set $failed on a
# failure; `free_udp_port` prints a UDP port free on loopback.

ferry=${FERRY_TOOL:-}
work=$(mktemp -d)
receiver_pid=
n=0
failed=0

cleanup() {
  if [ -n "$receiver_pid" ]; then
    kill "$receiver_pid" 2>/dev/null
    wait "$receiver_pid" 2>/dev/null
  fi
  if [ "$failed" -ne 0 ] || [ -n "${KEEP:-}" ]; then
    echo "# logs kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# result STATUS DESCRIPTION [DETAIL...]: on a failure, each DETAIL that
# names a file shows its last 40 lines, any other is shown as text.
result() {
  local status=$1 description=$2 detail
  shift 2
  n=$((n + 1))
  if [ "$status" -eq 0 ]; then
    echo "ok $n - $description"
    return
  fi
  echo "not ok $n - $description"
  failed=1
  for detail in "$@"; do
    if [ -f "$detail" ]; then
      tail -n 40 "$detail" | sed 's/^/# /'
    elif [ -n "$detail" ]; then
      printf '%s\n' "$detail" | sed 's/^/# /'
    fi
  done
}

skip() {  # skip DESCRIPTION REASON
  n=$((n + 1))
  if [ -n "${FERRY_TEST_NO_SKIP:-}" ]; then
    echo "not ok $n - $1: $2"
    failed=1
  else
    echo "ok $n - $1 # SKIP $2"
  fi
}

free_udp_port() {
  python3 -c 'import socket
s = socket.socket (socket.AF_INET, socket.SOCK_DGRAM)
s.bind (("127.0.0.1", 0))
print (s.getsockname ()[1])'
}
