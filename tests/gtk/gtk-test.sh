#!/usr/bin/env bash
# gtk-test.sh: the GTK example on a real display, driven through its actions
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   gtk-test.sh FERRY_GTK
#
# Under xvfb-run (a fresh X server, its own display) and dbus-run-session
# (a private session bus), starts the example with a fresh home on loopback
# and drives it through its GApplication actions with `gapplication action`:
#
#   1. app.accept-all, then a `ferry send` process sends it a file;
#   2. without it, an offer shows in a dialog, answered with app.accept;
#   3. app.send sends a folder to a `ferry receive --once` process;
#
# and checks every file on disk with its SHA3-256. app.screenshot-on-progress
# saves the window, as GTK draws it, while each transfer moves bytes:
# gtk-receive.png and gtk-send.png in the build folder (G_TEST_BUILDDIR),
# and app.screenshot the window with the offer dialog (gtk-offer.png).
#
# The application id has the pid in it, so runs in parallel do not meet on
# the bus. Events are awaited on the processes' JSON output, never slept for.
# Every process started here is stopped by its pid. Output is TAP; without
# xvfb-run, xauth, dbus-run-session, gapplication or OpenSSL's SHA3 the test
# is skipped, unless FERRY_TEST_NO_SKIP is set, where that is a failure.
#
# Environment (set by meson): FERRY_TOOL, FERRY_PLUGIN_PATH,
# FERRY_PLUGIN_SYSTEM_PATH, G_TEST_BUILDDIR. FERRY_GTK_KEEP=1 keeps the work
# folder.
set -uo pipefail

gui=${1:-}
ferry=${FERRY_TOOL:-}
out_dir=${G_TEST_BUILDDIR:-$PWD}
n_tests=12

say() { printf '# %s\n' "$*"; }

skip_all() {
  if [ -n "${FERRY_TEST_NO_SKIP:-}" ]; then
    printf '1..1\nnot ok 1 - cannot run the GTK test here: %s\n' "$1"
    exit 1
  fi
  printf '1..0 # SKIP %s\n' "$1"
  exit 0
}

# Outside the display: check what is needed, then run again inside it.
if [ -z "${FERRY_GTK_INNER:-}" ]; then
  [ -x "$gui" ] || skip_all "the GTK example was not built"
  [ -x "$ferry" ] || skip_all "FERRY_TOOL is not set"
  for tool in xvfb-run xauth dbus-run-session gapplication openssl; do
    command -v "$tool" >/dev/null 2>&1 || skip_all "$tool is not installed"
  done
  echo | openssl dgst -sha3-256 >/dev/null 2>&1 || skip_all "openssl has no SHA3-256"
  export FERRY_GTK_INNER=1
  # -a: the first free display number. No accessibility bus: nothing is
  # started that this test would not stop itself.
  exec env GTK_A11Y=none NO_AT_BRIDGE=1 GSETTINGS_BACKEND=memory \
    xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
    dbus-run-session -- "$0" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-gtk.XXXXXX")
pids=()
failed=0
test_index=0
app_id="org.ferry.Gtk.Test.p$$"

cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  exec 3<&- 4<&- 2>/dev/null
  if [ "$failed" -ne 0 ] || [ -n "${FERRY_GTK_KEEP:-}" ]; then
    say "logs kept in $work"
    for log in "$work"/*.log "$work"/*.err; do
      [ -s "$log" ] && { say "--- $log"; sed 's/^/#   /' "$log"; }
    done
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

check() {
  local description=$1
  shift
  test_index=$((test_index + 1))
  if "$@"; then
    echo "ok $test_index - $description"
  else
    echo "not ok $test_index - $description"
    failed=1
  fi
}

bail() {
  say "$*"
  while [ "$test_index" -lt "$n_tests" ]; do
    test_index=$((test_index + 1))
    echo "not ok $test_index - not reached"
  done
  failed=1
  exit 1
}

# wait_event FD LOG EVENT [JQ-FILTER]: the first JSON line of FD that is
# EVENT and matches the filter, among those already read (kept in LOG) or
# read from now on; prints it.
matches() {
  jq -e --arg e "$1" "select(.event == \$e) | $2" >/dev/null 2>&1
}
wait_event() {
  local fd=$1 log=$2 event=$3 filter=${4:-true} line
  if [ -f "$log" ]; then
    while IFS= read -r line; do
      if printf '%s' "$line" | matches "$event" "$filter"; then
        printf '%s\n' "$line"
        return 0
      fi
    done < "$log"
  fi
  while IFS= read -r -t 120 line <&"$fd"; do
    printf '%s\n' "$line" >> "$log"
    if printf '%s' "$line" | matches "$event" "$filter"; then
      printf '%s\n' "$line"
      return 0
    fi
  done
  say "no \"$event\" event in $log"
  return 1
}

event_seen() { wait_event "$@" >/dev/null; }
sha3() { openssl dgst -sha3-256 -r "$1" | cut -d' ' -f1; }
same_file() { [ -f "$2" ] && [ "$(sha3 "$1")" = "$(sha3 "$2")" ]; }
action() { gapplication action "$app_id" "$@"; }
on_bus() {
  gdbus introspect --session --dest "$app_id" --object-path "/${app_id//.//}" >/dev/null
}
# shot_taken EVENT PNG: the screenshot was saved while a transfer was ongoing.
shot_taken() {
  [ "$(printf '%s' "$1" | jq -r .ongoing)" = true ] && [ -s "$2" ] &&
    [ "$(head -c 8 "$2" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
}

echo "1..$n_tests"
say "display $DISPLAY, application id $app_id, work folder $work"
start=$(date +%s%N)

# Big enough that a transfer is still moving when the next frame is drawn.
head -c $((96 * 1024 * 1024)) /dev/urandom > "$work/to-gui.bin"
mkdir -p "$work/outbox/notes"
head -c $((96 * 1024 * 1024)) /dev/urandom > "$work/outbox/from-gui.bin"
head -c 4096 /dev/urandom > "$work/outbox/notes/note.bin"

# Names of their own, so that screenshots show no host name.
for pair in gui-home:desktop receiver-home:laptop sender-home:phone; do
  mkdir -p "$work/${pair%%:*}"
  printf '[core]\nname=%s\n' "${pair#*:}" > "$work/${pair%%:*}/ferry.conf"
done

mkfifo "$work/gui.fifo" "$work/receiver.fifo"
"$gui" --home "$work/gui-home" --dir "$work/gui-dl" --interface lo --json \
  --app-id "$app_id" > "$work/gui.fifo" 2> "$work/gui.err" &
gui_pid=$!
pids+=("$gui_pid")
exec 3< "$work/gui.fifo"

ready=$(wait_event 3 "$work/gui.log" ready) || bail "the application did not start"
gui_device=$(printf '%s' "$ready" | jq -r .device)
check "the application starts on the display and is on the bus" on_bus

# 1. Receive: accept every offer, then a `ferry send` process sends a file.
action accept-all
check "app.accept-all turns on" event_seen 3 "$work/gui.log" accept-all '.value == "true"'
action screenshot-on-progress "'$out_dir/gtk-receive.png'"
"$ferry" --home "$work/sender-home" --interface lo --json send --to "$gui_device" \
  "$work/to-gui.bin" > "$work/sender.log" 2>&1 &
sender_pid=$!
pids+=("$sender_pid")
wait_event 3 "$work/gui.log" state '.direction == "incoming" and .state == "finished"' >/dev/null
wait "$sender_pid"
sender_status=$?
check "ferry send → the application: verified on both ends" \
  [ "$sender_status" -eq 0 ]
check "the received file has the sender's SHA3-256" \
  same_file "$work/to-gui.bin" "$work/gui-dl/to-gui.bin"
shot=$(wait_event 3 "$work/gui.log" screenshot '.path | endswith("gtk-receive.png")')
check "a screenshot is saved while the file comes in" shot_taken "$shot" "$out_dir/gtk-receive.png"

# 2. An offer in a dialog, answered with app.accept.
head -c $((2 * 1024 * 1024)) /dev/urandom > "$work/offered.bin"
action accept-all
check "app.accept-all turns off" event_seen 3 "$work/gui.log" accept-all '.value == "false"'
"$ferry" --home "$work/sender-home" --interface lo --json send --to "$gui_device" \
  "$work/offered.bin" > "$work/sender2.log" 2>&1 &
sender_pid=$!
pids+=("$sender_pid")
offer_id=$(wait_event 3 "$work/gui.log" offer '.title == "offered.bin"' | jq -r .id)
check "the offer shows in a dialog" \
  event_seen 3 "$work/gui.log" dialog ".id == \"$offer_id\""
action screenshot "'$out_dir/gtk-offer.png'"
event_seen 3 "$work/gui.log" screenshot '.path | endswith("gtk-offer.png")'
action accept "'$offer_id'"
event_seen 3 "$work/gui.log" state ".id == \"$offer_id\" and .state == \"finished\""
wait "$sender_pid"
sender_status=$?
check "app.accept: the offered file arrives, verified" \
  eval '[ "$sender_status" -eq 0 ] && same_file "$work/offered.bin" "$work/gui-dl/offered.bin"'

# 3. Send: app.send to a `ferry receive --once` process.
"$ferry" --home "$work/receiver-home" --interface lo --json receive --yes --once \
  --dir "$work/receiver-dl" > "$work/receiver.fifo" 2> "$work/receiver.err" &
receiver_pid=$!
pids+=("$receiver_pid")
exec 4< "$work/receiver.fifo"
receiver_device=$(wait_event 4 "$work/receiver.log" ready | jq -r .device)
[ -n "$receiver_device" ] || bail "ferry receive did not start"
action screenshot-on-progress "'$out_dir/gtk-send.png'"
action send "('$receiver_device', ['$work/outbox'])"
check "the application → ferry receive: the transfer finishes" \
  event_seen 3 "$work/gui.log" state '.direction == "outgoing" and .state == "finished"'
cat <&4 >> "$work/receiver.log"
wait "$receiver_pid"
receiver_status=$?
check "ferry receive --once exits with success" [ "$receiver_status" -eq 0 ]
check "the folder's files arrive with their SHA3-256" \
  eval 'same_file "$work/outbox/from-gui.bin" "$work/receiver-dl/from-gui.bin" &&
        same_file "$work/outbox/notes/note.bin" "$work/receiver-dl/note.bin"'
shot=$(wait_event 3 "$work/gui.log" screenshot '.path | endswith("gtk-send.png")')
check "a screenshot is saved while the file goes out" shot_taken "$shot" "$out_dir/gtk-send.png"

# Quit through the action too; the application exits by itself.
action quit
wait "$gui_pid"
gui_status=$?
say "app.quit: exit status $gui_status"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
say "took $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100)) s"
[ "$gui_status" -eq 0 ] || failed=1
exit "$failed"
