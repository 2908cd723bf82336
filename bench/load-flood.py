#!/usr/bin/python3
# load-flood.py: the hostile side of bench/load.sh. Until SIGTERM it
#
#  - offers a small file to the receiver from throwaway identities (one
#    `ferry send` per home, --concurrency at a time, going round the homes
#    again after the last one): real signed and sealed offers, which the
#    receiver must refuse because they are not in its --accept-from;
#  - holds --idle TCP connections to the receiver's lan port that never
#    send a byte, replacing them with new ones every --renew seconds.
#
# It writes its counters to --status (JSON, replaced atomically) while it
# runs. On SIGTERM it stops starting senders, stops the running ones by
# their pid, waits for them, closes its sockets, writes the status a last
# time and exits 0. Everything goes to 127.0.0.1.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import errno
import json
import os
import selectors
import signal
import socket
import subprocess
import threading
import time

stopping = threading.Event()


def on_signal(signum, frame):
    stopping.set()


class IdleConnections:
    """Idle TCP connections to one port, renewed every few seconds."""

    def __init__(self, port, count, renew):
        self.port = port
        self.count = count
        self.renew = renew
        self.sockets = []
        self.connected = []     # those of sockets whose connect succeeded
        self.lock = threading.Lock()
        self.stats = {"rounds": 0, "connected": 0, "failed": 0,
                      "pending": 0, "closed_by_peer": 0, "open": 0}

    def open_round(self):
        """Starts count connections at once, waits up to 1 s for them."""
        sel = selectors.DefaultSelector()
        fresh = []
        for _ in range(self.count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", self.port))
            if err in (0, errno.EINPROGRESS):
                sel.register(s, selectors.EVENT_WRITE)
                fresh.append(s)
            else:
                self.stats["failed"] += 1
                s.close()
        waiting = set(fresh)
        connected = []
        deadline = time.monotonic() + 1.0
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(deadline - time.monotonic()):
                s = key.fileobj
                sel.unregister(s)
                waiting.discard(s)
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    self.stats["connected"] += 1
                    connected.append(s)
                else:
                    self.stats["failed"] += 1
                    fresh.remove(s)
                    s.close()
        # Still in the SYN retries (a full backlog): kept, they press too.
        self.stats["pending"] += len(waiting)
        sel.close()
        return fresh, connected

    def close_round(self, old, connected):
        for s in connected:
            try:
                if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    self.stats["closed_by_peer"] += 1
            except BlockingIOError:
                pass
            except OSError:
                self.stats["closed_by_peer"] += 1
        for s in old:
            s.close()

    def run(self):
        while not stopping.is_set():
            fresh, connected = self.open_round()
            with self.lock:
                old, self.sockets = self.sockets, fresh
                old_connected, self.connected = self.connected, connected
                self.stats["rounds"] += 1
                self.stats["open"] = len(fresh)
            self.close_round(old, old_connected)
            stopping.wait(self.renew)
        with self.lock:
            self.close_round(self.sockets, self.connected)
            self.sockets = []
            self.connected = []
            self.stats["open"] = 0

    def snapshot(self):
        with self.lock:
            return dict(self.stats)


def outcome(returncode, output):
    """The sender's last error code, "done", or its exit status."""
    code = None
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "error":
            code = event.get("code", "error")
        elif event.get("event") == "done":
            code = "done"
    if code is None:
        code = "exit-%d" % returncode
    return code


def write_status(path, status):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(status, f)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ferry", required=True)
    p.add_argument("--homes", required=True, help="folder of ferry homes")
    p.add_argument("--to", required=True, help="the receiver's account id")
    p.add_argument("--file", required=True, help="the file to offer")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--timeout", type=int, default=5)
    p.add_argument("--port", type=int, required=True, help="lan port")
    p.add_argument("--idle", type=int, default=128)
    p.add_argument("--renew", type=float, default=5.0)
    p.add_argument("--status", required=True)
    args = p.parse_args()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    homes = sorted(os.path.join(args.homes, h) for h in os.listdir(args.homes))
    idle = IdleConnections(args.port, args.idle, args.renew)
    idle_thread = threading.Thread(target=idle.run)
    if args.idle > 0:
        idle_thread.start()

    running = []
    started = finished = 0
    outcomes = {}
    last_write = 0.0

    def status():
        return {"identities": len(homes), "offers_started": started,
                "offers_finished": finished, "outcomes": outcomes,
                "running": len(running), "idle": idle.snapshot()}

    while not stopping.is_set():
        while len(running) < args.concurrency and homes and not stopping.is_set():
            home = homes[started % len(homes)]
            started += 1
            running.append(subprocess.Popen(
                [args.ferry, "--home", home, "--interface", "lo",
                 "--transport", "lan", "--json", "send", "--to", args.to,
                 "--timeout", str(args.timeout), args.file],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        for proc in [proc for proc in running if proc.poll() is not None]:
            running.remove(proc)
            finished += 1
            code = outcome(proc.returncode, proc.stdout.read())
            proc.stdout.close()
            outcomes[code] = outcomes.get(code, 0) + 1
        if time.monotonic() - last_write > 0.2:
            write_status(args.status, status())
            last_write = time.monotonic()
        stopping.wait(0.05)

    for proc in running:
        proc.send_signal(signal.SIGTERM)   # by its pid
    for proc in running:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        outcomes["stopped"] = outcomes.get("stopped", 0) + 1
    running = []
    if idle_thread.is_alive():
        idle_thread.join()
    write_status(args.status, status())


if __name__ == "__main__":
    main()
