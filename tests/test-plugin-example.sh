#!/usr/bin/env bash
# The SDK is complete for plugin authors: installs Ferry to a temporary
# prefix (meson install --destdir), builds examples/plugin/ with its own
# meson project against the installed headers and ferry-1.pc only, loads it
# through FERRY_PLUGIN_PATH into the installed `ferry`, and sends a file
# between two homes with `--transport unix`, checking it with its SHA3-256.
#
#   test-plugin-example.sh BUILD_ROOT EXAMPLE_SOURCE
#
# Output is TAP. Traffic: local-broadcast on loopback (a UDP port picked
# here) for signaling, a Unix domain socket for the data.
set -uo pipefail

build=${1:?usage: test-plugin-example.sh BUILD_ROOT EXAMPLE_SOURCE}
example=${2:?usage: test-plugin-example.sh BUILD_ROOT EXAMPLE_SOURCE}
. "$(dirname "$0")/shell-common.sh"

bail() {
  echo "Bail out! $*"
  failed=1
  exit 1
}

echo "1..5"

# 1. Install.
dest=$work/dest
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$work/install.log" 2>&1
status=$?
pc=$(find "$dest" -name ferry-1.pc | head -n 1)
[ "$status" -eq 0 ] && [ -n "$pc" ]
result $? "meson install --destdir" "$work/install.log"
[ -n "$pc" ] || bail "no ferry-1.pc installed"

# The .pc names the configured prefix; the files are under $dest.
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir -p "$work/pkgconfig"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" >"$work/pkgconfig/ferry-1.pc"
libdir=$(PKG_CONFIG_PATH=$work/pkgconfig pkg-config --variable=libdir ferry-1)
plugindir=$(PKG_CONFIG_PATH=$work/pkgconfig pkg-config --variable=plugindir ferry-1)
ferry=$dest$prefix/bin/ferry
[ -x "$ferry" ] || bail "no ferry installed in $dest$prefix/bin"

# 2. Build the example against the installed Ferry only.
{
  PKG_CONFIG_PATH=$work/pkgconfig meson setup --werror "$work/example" "$example" &&
    ninja -C "$work/example"
} >"$work/example.log" 2>&1
status=$?
[ "$status" -eq 0 ] && [ -f "$work/example/libferry-unix.so" ]
result $? "examples/plugin builds against ferry-1.pc" "$work/example.log"
[ -f "$work/example/libferry-unix.so" ] || bail "the example did not build"

# The installed tool, its library and its plugins; the example from its
# build directory.
export LD_LIBRARY_PATH=$libdir
export FERRY_PLUGIN_SYSTEM_PATH=$plugindir
export FERRY_PLUGIN_PATH=$work/example
export TMPDIR=$work

# 3. The installed ferry loads it.
"$ferry" --home "$work/probe" --json plugins >"$work/plugins.json" 2>"$work/plugins.err"
python3 - "$work/plugins.json" <<'PY' >"$work/plugins.log" 2>&1
import json, sys
plugins = [json.loads (line) for line in open (sys.argv[1]) if line.strip ()]
unix = [p for p in plugins if p["name"] == "unix"]
assert unix, "no plugin called unix: %r" % plugins
assert unix[0]["error"] is None, unix[0]["error"]
features = [(f["name"], f["kind"], f["rank"]) for f in unix[0]["features"]]
assert features == [("unix", "transport", 128)], unix[0]
PY
result $? "ferry plugins lists unix, loaded, a transport of rank 128" "$work/plugins.log" "$work/plugins.json" "$work/plugins.err"

# 4. A transfer through it.
port=$(python3 -c 'import socket
s = socket.socket (socket.AF_INET, socket.SOCK_DGRAM)
s.bind (("127.0.0.1", 0))
print (s.getsockname ()[1])')
for home in alice bob; do
  mkdir -p "$work/$home"
  printf '[core]\nname=%s\n[local-broadcast]\nport=%s\n' "$home" "$port" >"$work/$home/ferry.conf"
done
mkdir -p "$work/inbox"
head -c 3000000 /dev/urandom >"$work/payload.bin"
bob=$("$ferry" --home "$work/bob" --json id | python3 -c 'import json, sys; print (json.load (sys.stdin)["account"])')

mkfifo "$work/receiver.fifo"
"$ferry" --home "$work/bob" --interface lo --signaling local-broadcast --transport unix \
  --json receive --yes --once --dir "$work/inbox" >"$work/receiver.fifo" 2>"$work/receiver.err" &
receiver_pid=$!
exec 3<"$work/receiver.fifo"
ready=1
while IFS= read -r -t 60 line <&3; do
  printf '%s\n' "$line" >>"$work/receiver.out"
  case "$line" in
    *'"event":"ready"'*) ready=0; break ;;
  esac
done
[ "$ready" -eq 0 ] || bail "the receiver did not start: $(cat "$work/receiver.err")"

"$ferry" --home "$work/alice" --interface lo --signaling local-broadcast --transport unix \
  --json send --to "$bob" "$work/payload.bin" >"$work/sender.out" 2>"$work/sender.err"
send_status=$?
while IFS= read -r -t 60 line <&3; do
  printf '%s\n' "$line" >>"$work/receiver.out"
done
exec 3<&-
wait "$receiver_pid"
receive_status=$?
receiver_pid=

sha=$(openssl dgst -sha3-256 -r "$work/payload.bin" | cut -d' ' -f1)
python3 - "$work/sender.out" "$work/receiver.out" "$sha" <<'PY' >"$work/transfer.log" 2>&1
import json, sys
for path in sys.argv[1:3]:
    events = [json.loads (line) for line in open (path) if line.startswith ("{")]
    done = [e for e in events if e["event"] == "done"]
    assert len (done) == 1, "%s: no done event: %r" % (path, events)
    assert done[0]["chain"].startswith ("local-broadcast → unix ("), done[0]["chain"]
    assert done[0]["files"][0]["sha3-256"] == sys.argv[3], done[0]
PY
[ "$send_status" -eq 0 ] && [ "$receive_status" -eq 0 ] && [ -n "$sha" ] &&
  cmp -s "$work/payload.bin" "$work/inbox/payload.bin" && [ ! -s "$work/transfer.log" ]
result $? "a file sent with --transport unix arrives verified (send $send_status, receive $receive_status)" \
  "$work/transfer.log" "$work/sender.out" "$work/sender.err" "$work/receiver.out" "$work/receiver.err"

# 5. Both engines removed their sockets on exit.
leftover=$(find "$work" -maxdepth 1 -name 'ferry-unix-*')
[ -z "$leftover" ]
result $? "no socket left behind ($leftover)"

exit "$failed"
