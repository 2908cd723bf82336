#!/usr/bin/env bash
# Folders and texts through the `ferry` tool, two processes on loopback:
# a tree (nested and empty folders, unicode names, an executable, a
# symbolic link that is skipped and reported) arrives equal (diff -r);
# a text, given and on standard input, is printed by `ferry receive` or
# given as a `text` event, and never lands as a file.
#
# Output is TAP. Environment: FERRY_TOOL, FERRY_PLUGIN_PATH (set by meson).
set -uo pipefail

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

port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for side in send recv; do
  mkdir -p "$work/$side"
  printf '[local-broadcast]\nport=%s\n' "$port" > "$work/$side/ferry.conf"
done

# start_receiver OUT [ARGS...]: a receiver answering one transfer; waits
# for its ready event (not for a time) and sets $account.
start_receiver() {
  local out=$1
  shift
  : > "$out"
  "$ferry" --home "$work/recv" --interface lo "$@" receive --yes --once --dir "$work/down" \
    > "$out" 2> "$out.err" &
  receiver_pid=$!
  if [ "${1:-}" = "--json" ]; then
    timeout 30 tail -n +1 -f "$out" | grep -q -m1 '"event":"ready"'
  else
    timeout 30 tail -n +1 -f "$out" | grep -q -m1 ' listens on '
  fi
  account=$("$ferry" --home "$work/recv" --json id | python3 -c 'import json, sys; print(json.load(sys.stdin)["account"][:12])')
}

wait_receiver() {
  wait "$receiver_pid"
  local code=$?
  receiver_pid=
  return $code
}

mkdir -p "$work/down" "$work/src/album/sub/deep" "$work/src/album/empty/inner"
printf 'one\n' > "$work/src/album/a.txt"
printf '#!/bin/sh\necho hi\n' > "$work/src/album/sub/run.sh"
chmod 755 "$work/src/album/sub/run.sh"
printf 'ü\n' > "$work/src/album/sub/deep/héllo wörld ✓.txt"
for i in $(seq 1 50); do printf '%s' "$i" > "$work/src/album/sub/f$i"; done
touch -d '2020-01-01 00:00:00 UTC' "$work/src/album/a.txt"
ln -s /etc/passwd "$work/src/album/link"

# 1-4: a folder
start_receiver "$work/recv.jsonl" --json
"$ferry" --home "$work/send" --interface lo --json send --to "$account" "$work/src/album" \
  > "$work/send.jsonl" 2> "$work/send.err"
send_code=$?
wait_receiver
recv_code=$?
result $((send_code + recv_code)) "a folder is sent and received" "$(cat "$work/send.err" "$work/recv.jsonl.err")"
diff -r --no-dereference -x link "$work/src/album" "$work/down/album" > "$work/diff" 2>&1
result $? "the received tree equals the sent one" "$(cat "$work/diff")"
[ -x "$work/down/album/sub/run.sh" ] && [ ! -e "$work/down/album/link" ] &&
  [ -d "$work/down/album/empty/inner" ] &&
  [ "$(stat -c %Y "$work/down/album/a.txt")" = "$(stat -c %Y "$work/src/album/a.txt")" ]
result $? "executable bit, empty folders and times kept; the link not followed"
python3 - "$work/send.jsonl" <<'PY'
import json, sys
done = [e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "done"]
sys.exit(0 if done and done[-1].get("skipped") == ["album/link"] else 1)
PY
result $? "the skipped link is reported in the done event"

# 5-6: a text, as an event
start_receiver "$work/text.jsonl" --json
"$ferry" --home "$work/send" --interface lo send --to "$account" --text $'some words\nand a line' \
  > "$work/text-send.out" 2> "$work/text-send.err"
send_code=$?
wait_receiver
recv_code=$?
python3 - "$work/text.jsonl" <<'PY'
import json, sys
texts = [e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "text"]
sys.exit(0 if texts and texts[0]["text"] == "some words\nand a line" else 1)
PY
result $((send_code + recv_code + $?)) "a text arrives as a text event" "$(cat "$work/text-send.err" "$work/text.jsonl")"
[ "$(ls "$work/down")" = "album" ]
result $? "a text never lands as a file"

# 7: a text from standard input, printed
start_receiver "$work/text.out"
printf 'from stdin\n' | "$ferry" --home "$work/send" --interface lo send --to "$account" --text - \
  > /dev/null 2> "$work/stdin-send.err"
send_code=$?
wait_receiver
recv_code=$?
grep -qx 'from stdin' "$work/text.out"
result $((send_code + recv_code + $?)) "ferry receive prints a text read from standard input" "$(cat "$work/stdin-send.err" "$work/text.out" "$work/text.out.err")"

echo "1..$n"
exit $failed
