#!/usr/bin/python3
# test-gi.py: Ferry through GObject Introspection, as a GTK application
# author would use it: two engines in one process over the loopback
# interface, a real verified transfer, all through the typelib.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import socket
import sys
import tempfile

tests = []


def test(func):
    tests.append(func)
    return func


try:
    import gi
    gi.require_version("Ferry", "1.0")
    from gi.repository import Ferry, Gio, GLib
except (ImportError, ValueError) as e:
    reason = "GObject Introspection for Python is missing: %s" % e
    if os.environ.get("FERRY_TEST_NO_SKIP"):
        print("1..1\nnot ok 1 gi # %s" % reason)
        sys.exit(1)
    print("1..0 # SKIP %s" % reason)
    sys.exit(0)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# PyGObject prints an exception raised in a callback and swallows it, so a
# failed assert there could only show as a timeout: callbacks are wrapped
# by guarded(), which records the exception, and wait_until() and the test
# runner raise it in the main flow.
callback_errors = []


def guarded(func):
    def wrapper(*args):
        try:
            return func(*args)
        except BaseException as e:  # raised again by raise_callback_error()
            callback_errors.append(e)
    return wrapper


def raise_callback_error():
    if callback_errors:
        error = callback_errors[0]
        del callback_errors[:]
        raise error


def wait_until(condition, timeout_ms, what):
    context = GLib.MainContext.default()
    expired = []
    source = GLib.timeout_add(timeout_ms, lambda: expired.append(True) or False)
    while not condition() and not expired and not callback_errors:
        context.iteration(True)
    if not expired:
        GLib.source_remove(source)
    raise_callback_error()
    if not condition():
        raise AssertionError("timed out waiting for " + what)


def start(engine):
    """Starts @engine with start_async, as an application would."""
    done = []
    engine.start_async(None, guarded(lambda e, r: done.append(e.start_finish(r))))
    assert not done  # never before start_async returns
    wait_until(lambda: done, 30000, "the engine to start")
    return done[0]


def make_engine(base, name, port):
    home = os.path.join(base, name)
    os.makedirs(home)
    with open(os.path.join(home, "ferry.conf"), "w") as f:
        f.write("[core]\nname=%s\n[local-broadcast]\nport=%d\n" % (name, port))
    engine = Ferry.Engine.new(home, None)
    engine.set_interfaces(["lo"])
    engine.set_signalings(["local-broadcast"])
    engine.set_transports(["lan"])
    return engine


@test
def identity_and_plugins(base):
    engine = make_engine(base, "solo", free_udp_port())
    identity = engine.get_identity()
    assert len(identity.get_account_id()) == 64, identity.get_account_id()
    assert identity.get_account_id() != identity.get_device_id()
    assert identity.props.name == "solo"
    names = [plugin.get_name() for plugin in engine.get_registry()]
    assert "lan" in names and "local-broadcast" in names, names
    lan = engine.get_registry().lookup_plugin("lan")
    assert lan.get_error() is None
    features = [(f.get_name(), f.get_rank()) for f in lan.get_features()]
    assert features == [("lan", Ferry.Rank.PRIMARY)], features


@test
def transfer(base):
    port = free_udp_port()
    alice = make_engine(base, "alice", port)
    bob = make_engine(base, "bob", port)
    download = os.path.join(base, "download")
    os.makedirs(download)
    payload = os.path.join(base, "payload.bin")
    with open(payload, "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 11))

    requested = []

    @guarded
    def on_requested(engine, transfer):
        requested.append(transfer)
        assert transfer.props.state == Ferry.TransferState.AWAITING_HOST
        transfer.accept(Gio.File.new_for_path(download))

    bob.connect("transfer-requested", on_requested)
    assert start(alice)
    assert start(bob)

    context = alice.get_signalings().get_item(0).get_plugin_context()
    assert context.get_name() == "local-broadcast"
    assert context.get_announcement().get_size() > 0
    assert list(context.dup_interfaces()) == ["lo"]
    listed = context.list_interfaces()
    assert [i.get_name() for i in listed] == ["lo"]
    assert listed[0].props.is_loopback and listed[0].props.index > 0
    assert any(a.get_family() == Gio.SocketFamily.IPV4 for a in listed[0].get_addresses())
    assert context.dup_setting("port") == str(port)
    assert context.get_int64_setting("port", 0) == (True, port)
    assert context.get_account_id() == alice.get_identity().get_account_id()
    assert context.get_home() == alice.get_home()

    found = []
    alice.find_peer_async("bob", 10000, None,
                          guarded(lambda engine, result: found.append(engine.find_peer_finish(result))))
    wait_until(lambda: found, 15000, "bob to be found")
    peer = found[0]
    assert peer.get_account_id() == bob.get_identity().get_account_id()
    seen = peer.get_devices().get_item(0).props.last_seen_time
    assert seen is not None and seen.to_unix() > 0

    outgoing = alice.send(peer, [Gio.File.new_for_path(payload)])
    assert outgoing.get_direction() == Ferry.TransferDirection.OUTGOING
    wait_until(outgoing.is_done, 30000, "the transfer to end")
    assert outgoing.get_state() == Ferry.TransferState.FINISHED, outgoing.get_error()
    assert outgoing.props.chain.startswith("local-broadcast → lan (tcp 127.0.0.1:"), outgoing.props.chain

    wait_until(lambda: requested and requested[0].is_done(), 30000, "the incoming side to end")
    incoming = requested[0]
    assert incoming.get_state() == Ferry.TransferState.FINISHED
    received = incoming.get_files().get_item(0)
    sent = outgoing.get_files().get_item(0)
    assert received.get_sha3_256() == sent.get_sha3_256()
    with open(payload, "rb") as a, open(received.get_file().get_path(), "rb") as b:
        assert a.read() == b.read()
    assert list(alice.get_transfers())[0] == outgoing

    # The chain as objects; its display string is made of them.
    segments = list(outgoing.get_chain_segments())
    kinds = [segment.props.kind for segment in segments]
    assert kinds == [Ferry.ChainSegmentKind.SIGNALING, Ferry.ChainSegmentKind.TRANSPORT,
                     Ferry.ChainSegmentKind.CHANNEL], kinds
    assert segments[0].get_name() == "local-broadcast"
    assert segments[1].get_name() == "lan"
    assert segments[1].get_addresses()[0].startswith("127.0.0.1:"), segments[1].props.addresses
    assert segments[1].props.bytes == outgoing.props.bytes
    assert " → ".join(s.to_string() for s in segments) == outgoing.props.chain

    # The history as objects, read on a worker thread.
    listed = []
    bob.list_history_async(None, guarded(lambda e, r: listed.append(e.list_history_finish(r))))
    wait_until(lambda: listed, 15000, "the history")
    records = list(listed[0])
    assert len(records) == 1, records
    assert records[0].props.id == incoming.get_id()
    assert records[0].props.direction == Ferry.TransferDirection.INCOMING
    assert records[0].props.state == Ferry.TransferState.FINISHED
    assert records[0].props.peer_account_id == alice.get_identity().get_account_id()
    assert records[0].get_files().get_item(0).get_sha3_256() == sent.get_sha3_256()

    # Finished transfers can be cleared from the model.
    assert alice.clear_finished_transfers() == 1
    assert len(alice.get_transfers()) == 0

    closed = []
    alice.close_async(None, guarded(lambda e, r: closed.append(e.close_finish(r))))
    bob.close_async(None, guarded(lambda e, r: closed.append(e.close_finish(r))))
    wait_until(lambda: len(closed) == 2, 15000, "the engines to close")


@test
def settings(base):
    engine = make_engine(base, "settings", free_udp_port())
    assert list(engine.props.signaling_names) == ["local-broadcast"]
    assert list(engine.get_transport_names()) == ["lan"]
    engine.props.dht_proxies = ["http://127.0.0.1:8000"]
    assert list(engine.dup_dht_proxies()) == ["http://127.0.0.1:8000"]
    engine.set_turn_servers(["turn:u:p@127.0.0.1:3478"])
    assert list(engine.props.turn_servers) == ["turn:u:p@127.0.0.1:3478"]
    engine.props.stun_server = "127.0.0.1:3479"
    assert engine.dup_stun_server() == "127.0.0.1:3479"
    engine.props.offer_timeout = 30
    assert engine.get_offer_timeout() == 30
    engine.props.peer_expiry = 5
    assert engine.props.peer_expiry == 5
    folder = Gio.File.new_for_path(os.path.join(base, "in"))
    engine.props.download_dir = folder
    assert engine.get_download_dir().equal(folder)
    engine.set_download_dir(None)
    assert engine.props.download_dir.get_path() is not None
    devices = list(engine.list_account_devices())
    assert devices[0].props.is_this and not devices[0].props.revoked
    assert devices[0].get_device_id() == engine.get_identity().get_device_id()
    engine.set_plugin_setting("lan", "port", "4444")
    assert engine.dup_plugin_setting("lan", "port") == "4444"


@test
def text_and_folder(base):
    port = free_udp_port()
    alice = make_engine(base, "alice", port)
    bob = make_engine(base, "bob", port)
    download = os.path.join(base, "download")
    os.makedirs(download)
    folder = os.path.join(base, "album")
    os.makedirs(os.path.join(folder, "sub"))
    os.makedirs(os.path.join(folder, "empty"))
    with open(os.path.join(folder, "sub", "a.txt"), "w") as f:
        f.write("a")
    os.symlink("/etc/passwd", os.path.join(folder, "link"))

    requested = []

    @guarded
    def on_requested(engine, transfer):
        requested.append(transfer)
        transfer.accept(Gio.File.new_for_path(download))

    bob.connect("transfer-requested", on_requested)
    alice.start()
    bob.start()
    found = []
    alice.find_peer_async("bob", 10000, None,
                          guarded(lambda engine, result: found.append(engine.find_peer_finish(result))))
    wait_until(lambda: found, 15000, "bob to be found")

    text = alice.send_text(found[0], None, "hello ✓\nworld")
    wait_until(text.is_done, 30000, "the text to go")
    assert text.get_state() == Ferry.TransferState.FINISHED, text.get_error()
    wait_until(lambda: requested and requested[0].is_done(), 30000, "the text to arrive")
    assert requested[0].get_text() == "hello ✓\nworld"
    assert os.listdir(download) == []

    outgoing = alice.send(found[0], [Gio.File.new_for_path(folder)])
    assert outgoing.get_skipped() == ["album/link"]
    wait_until(outgoing.is_done, 30000, "the folder to go")
    assert outgoing.get_state() == Ferry.TransferState.FINISHED, outgoing.get_error()
    wait_until(lambda: len(requested) == 2 and requested[1].is_done(), 30000, "the folder to arrive")
    received = requested[1].get_files().get_item(0)
    assert received.get_path() == "album/sub/a.txt"
    assert received.get_file().get_path() == os.path.join(download, "album", "sub", "a.txt")
    assert os.path.isdir(os.path.join(download, "album", "empty"))

    closed = []
    alice.close_async(None, guarded(lambda e, r: closed.append(e.close_finish(r))))
    bob.close_async(None, guarded(lambda e, r: closed.append(e.close_finish(r))))
    wait_until(lambda: len(closed) == 2, 15000, "the engines to close")


# An application that binds no text domain of its own still gets the
# library's messages in its user's language: run as a separate process,
# since the language is read when a catalogue is first used.
TRANSLATED = """
import locale, os, sys
import gi
gi.require_version("Ferry", "1.0")
from gi.repository import Ferry, GLib
locale.setlocale(locale.LC_ALL, "")
try:
    Ferry.Engine.new(sys.argv[1], None)
except GLib.Error as e:
    print(e.message)
"""


@test
def translated(base):
    import subprocess
    home = os.path.join(base, "home")
    os.makedirs(os.path.join(home, "ferry.conf"))  # a folder: unreadable
    env = dict(os.environ, LANGUAGE="es", LC_ALL="C.UTF-8")
    assert env.get("FERRY_LOCALEDIR"), "FERRY_LOCALEDIR is not set"
    out = subprocess.run([sys.executable, "-c", TRANSLATED, home], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("No se puede leer "), out.stdout


def main():
    print("1..%d" % len(tests))
    failed = 0
    for number, func in enumerate(tests, 1):
        with tempfile.TemporaryDirectory(prefix="ferry-gi-") as base:
            try:
                func(base)
                raise_callback_error()
                print("ok %d %s" % (number, func.__name__))
            except Exception as e:  # report, then go on with the next test
                del callback_errors[:]
                failed += 1
                print("not ok %d %s # %r" % (number, func.__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
