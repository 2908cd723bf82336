#!/usr/bin/python3
# wan-link.py: an emulated WAN link between two network namespaces, in user
# space (for kernels without the netem qdisc).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   wan-link.py NS-A TUN-A NS-B TUN-B DELAY-MS LOSS [SEED]
#
# Creates the TUN device TUN-A (IFF_TUN | IFF_NO_PI) inside the network
# namespace NS-A (/var/run/netns/NS-A) and TUN-B inside NS-B, then forwards
# every IP packet read from one to the other after DELAY-MS milliseconds
# (each way; the round trip is twice that), dropping each packet with the
# probability LOSS (e.g. 0.001 for 0.1%), independently in each direction.
# Prints "ready" once both devices exist (the caller gives them addresses
# and brings them up), then runs until killed; the devices go with it.
# Counters per direction go to stderr on SIGTERM/SIGINT.
#
# FERRY_WAN_RATE (e.g. 100mbit, 20mbit, 1gbit, or bits per second) caps each
# direction with a token bucket, as tc's tbf does: tokens at that rate,
# a bucket of FERRY_WAN_BURST bytes (default 16000), and a FIFO queue in
# front holding at most FERRY_WAN_QUEUE_MS of traffic at that rate
# (default 50 ms); a packet that finds the queue full is dropped (counted
# apart from the random loss). The delay is added after the bucket.
#
# Root only; stdlib + ctypes (Python 3.11 has no os.setns).

import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name):
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(name):
    # The device is created in the namespace the process is in at TUNSETIFF;
    # the descriptor stays usable after the process moves on.
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    os.set_blocking(fd, False)
    return fd


def parse_rate(text):
    """'100mbit' -> bits per second (0: no cap)."""
    text = text.strip().lower()
    if not text:
        return 0.0
    for suffix, scale in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


class Bucket:
    """A token bucket with a FIFO queue in front, as a virtual clock: each
    packet leaves when the bucket has its size in tokens, after the packets
    queued before it."""

    def __init__(self, rate_bits, burst, queue_s):
        self.rate = rate_bits / 8.0  # bytes per second
        self.burst = burst
        self.queue_s = queue_s
        self.last = 0.0  # when the previous packet left

    def depart(self, now, size):
        """When a packet of @size bytes arriving at @now leaves, or None if
        the queue is full."""
        if self.rate <= 0:
            return now
        # A full bucket lets a burst through at once.
        start = max(self.last, now - self.burst / self.rate)
        leave = start + size / self.rate
        if leave - now > self.queue_s + self.burst / self.rate:
            return None
        self.last = leave
        return max(now, leave)


def main():
    if len(sys.argv) not in (7, 8):
        sys.exit(f"usage: {sys.argv[0]} NS-A TUN-A NS-B TUN-B DELAY-MS LOSS [SEED]")
    ns_a, tun_a, ns_b, tun_b = sys.argv[1:5]
    delay = float(sys.argv[5]) / 1000.0
    loss = float(sys.argv[6])
    rng = random.Random(int(sys.argv[7]) if len(sys.argv) == 8 else None)
    rate = parse_rate(os.environ.get("FERRY_WAN_RATE", ""))
    burst = float(os.environ.get("FERRY_WAN_BURST", "16000"))
    queue_s = float(os.environ.get("FERRY_WAN_QUEUE_MS", "50")) / 1000.0

    enter_netns(ns_a)
    fd_a = open_tun(tun_a)
    enter_netns(ns_b)
    fd_b = open_tun(tun_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    name = {fd_a: f"{tun_a}->{tun_b}", fd_b: f"{tun_b}->{tun_a}"}
    # packets in, dropped (random loss), bytes forwarded, dropped (queue full)
    stats = {fd: [0, 0, 0, 0] for fd in peer}
    bucket = {fd: Bucket(rate, burst, queue_s) for fd in peer}

    def finish(*_):
        for fd, (n, dropped, nbytes, full) in stats.items():
            print(f"wan-link: {name[fd]}: {n} packets, {dropped} dropped, "
                  f"{full} dropped by the rate cap's queue, "
                  f"{nbytes} bytes forwarded", file=sys.stderr)
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    print("ready", flush=True)

    queue = []  # (due, sequence, output fd, packet): FIFO per direction
    seq = 0
    while True:
        timeout = None
        if queue:
            timeout = max(0.0, queue[0][0] - time.monotonic())
        readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        now = time.monotonic()
        for fd in readable:
            for _ in range(256):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                stats[fd][0] += 1
                if loss > 0 and rng.random() < loss:
                    stats[fd][1] += 1
                    continue
                leave = bucket[fd].depart(now, len(packet))
                if leave is None:
                    stats[fd][3] += 1
                    continue
                stats[fd][2] += len(packet)
                if delay <= 0 and rate <= 0:
                    try:
                        os.write(peer[fd], packet)
                    except OSError:
                        pass
                else:
                    seq += 1
                    heapq.heappush(queue, (leave + delay, seq, peer[fd], packet))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, packet = heapq.heappop(queue)
            try:
                os.write(out, packet)
            except OSError:
                pass  # e.g. the device is down: the packet is lost


if __name__ == "__main__":
    main()
