# shell-common.sh: what the shell test scripts share; sourced, not run:
#
#   . "${G_TEST_SRCDIR:-$(dirname "$0")}/shell-common.sh"
#
# (meson sets G_TEST_SRCDIR to this folder.) Sets $ferry, the tool under
# test (FERRY_TOOL), and $work, a fresh directory removed at exit together
# with the receiver whose pid a script keeps in $receiver_pid. `result`
# and `skip` print TAP lines numbered in $n and set $failed on a failure;
# `free_udp_port` prints a UDP port free on loopback.

ferry=${FERRY_TOOL:?FERRY_TOOL is not set}
work=$(mktemp -d)
receiver_pid=
n=0
failed=0

cleanup() {
  if [ -n "$receiver_pid" ]; then
    kill "$receiver_pid" 2>/dev/null
    wait "$receiver_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

result() {  # result STATUS DESCRIPTION [DETAIL]
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failed=1
    [ -n "${3:-}" ] && printf '# %s\n' "$3"
  fi
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
