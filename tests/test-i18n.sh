#!/usr/bin/env bash
# Ferry speaks Spanish: runs the built `ferry` with LANGUAGE=es against the
# catalogues of the build tree (FERRY_LOCALEDIR) and checks a usage error
# and the summaries of a real transfer between two homes on loopback
# (local-broadcast on a UDP port picked here, lan over TCP).
#
#   test-i18n.sh LOCALEDIR
#
# Output is TAP. Environment: FERRY_TOOL, FERRY_PLUGIN_PATH (set by meson).
set -uo pipefail

. "${G_TEST_SRCDIR:-$(dirname "$0")}/shell-common.sh"
: "${ferry:?FERRY_TOOL is not set}"
export FERRY_LOCALEDIR=${1:?usage: test-i18n.sh LOCALEDIR}
export LANGUAGE=es LC_ALL=C.UTF-8
unset LANG LC_MESSAGES

contains() {  # contains FILE TEXT
  grep -qF -- "$2" "$1"
}

echo "1..5"

if [ ! -f "$FERRY_LOCALEDIR/es/LC_MESSAGES/ferry.mo" ]; then
  echo "Bail out! no Spanish catalogue in $FERRY_LOCALEDIR"
  exit 1
fi

# 1. A usage error, and the hint that follows it.
"$ferry" frobnicate >"$work/usage.out" 2>"$work/usage.err"
status=$?
[ "$status" -eq 2 ] &&
  contains "$work/usage.err" "ferry: Orden desconocida «frobnicate»" &&
  contains "$work/usage.err" "Pruebe «ferry --help» para más información."
result $? "a usage error in Spanish (exit status $status)" "$work/usage.err"

# 2. Another one, from the send command's own checks.
"$ferry" --home "$work/nobody" send --to 0123456789abcdef >/dev/null 2>"$work/send-usage.err"
status=$?
[ "$status" -eq 2 ] && contains "$work/send-usage.err" "ferry: No hay ningún ARCHIVO que enviar"
result $? "send without a FILE, in Spanish (exit status $status)" "$work/send-usage.err"

# 3. A transfer: the receiver's and the sender's summaries.
port=$(python3 -c 'import socket
s = socket.socket (socket.AF_INET, socket.SOCK_DGRAM)
s.bind (("127.0.0.1", 0))
print (s.getsockname ()[1])')
for home in alice bob; do
  mkdir -p "$work/$home"
  printf '[core]\nname=%s\nsignalings=local-broadcast\ntransports=lan\n[local-broadcast]\nport=%s\n' \
    "$home" "$port" >"$work/$home/ferry.conf"
done
mkdir -p "$work/inbox"
head -c 300000 /dev/urandom >"$work/datos.bin"
bob=$("$ferry" --home "$work/bob" --json id | python3 -c 'import json, sys; print (json.load (sys.stdin)["account"])')

mkfifo "$work/receiver.fifo"
"$ferry" --home "$work/bob" --interface lo receive --yes --once --dir "$work/inbox" \
  >"$work/receiver.fifo" 2>"$work/receiver.err" &
receiver_pid=$!
exec 3<"$work/receiver.fifo"
ready=1
while IFS= read -r -t 60 line <&3; do
  printf '%s\n' "$line" >>"$work/receiver.out"
  case "$line" in
    "Listo para recibir como «bob»") ready=0; break ;;
  esac
done
result "$ready" "the receiver says it is ready, in Spanish" "$work/receiver.out" "$work/receiver.err"

"$ferry" --home "$work/alice" --interface lo send --to "$bob" "$work/datos.bin" \
  >"$work/sender.out" 2>"$work/sender.err"
send_status=$?
# The receiver exits after the transfer (--once): read the rest of its output.
while IFS= read -r -t 60 line <&3; do
  printf '%s\n' "$line" >>"$work/receiver.out"
done
exec 3<&-
wait "$receiver_pid"
receive_status=$?
receiver_pid=

sha=$(openssl dgst -sha3-256 -r "$work/inbox/datos.bin" 2>/dev/null | cut -d' ' -f1)
[ "$send_status" -eq 0 ] && [ "$receive_status" -eq 0 ] &&
  cmp -s "$work/datos.bin" "$work/inbox/datos.bin" && [ -n "$sha" ] &&
  contains "$work/sender.out" "Enviado: 1 archivo, 300.0" &&
  contains "$work/sender.out" "verificado con sha3-256" &&
  contains "$work/sender.out" "Cadena: local-broadcast → lan" &&
  contains "$work/sender.out" "sha3-256 $sha"
result $? "the sender's summary in Spanish, the file verified (send $send_status, receive $receive_status)" \
  "$work/sender.out" "$work/sender.err"

contains "$work/receiver.out" "Recibido: 1 archivo" &&
  contains "$work/receiver.out" "verificado con sha3-256" &&
  [ -n "$sha" ] && contains "$work/receiver.out" "sha3-256 $sha"
result $? "the receiver's summary in Spanish" "$work/receiver.out" "$work/receiver.err"

exit "$failed"
