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
    alice.start()
    bob.start()

    found = []
    alice.find_peer_async("bob", 10000, None,
                          guarded(lambda engine, result: found.append(engine.find_peer_finish(result))))
    wait_until(lambda: found, 15000, "bob to be found")
    peer = found[0]
    assert peer.get_account_id() == bob.get_identity().get_account_id()

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

    closed = []
    alice.close_async(None, guarded(lambda e, r: closed.append(e.close_finish(r))))
    bob.close_async(None, guarded(lambda e, r: closed.append(e.close_finish(r))))
    wait_until(lambda: len(closed) == 2, 15000, "the engines to close")


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
