"""Loopback ports for test servers that no other test, process or client can get.

Binding port 0 and closing the socket hands the same number out again: the
kernel reuses it for the next port-0 bind and for outgoing connections, so a
port "found free" can be taken before the server binds it. Ports here come
from below the kernel's ephemeral range (never used for outgoing
connections), are never handed out twice in one process, and are claimed
across processes with a lock file held for the life of the test process, so
parallel test runs do not collide.
"""

import fcntl
import os
import random
import socket

LOCK_DIR = "/tmp/mailfort-it/ports"
_claimed = {}


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _claim(port):
    os.makedirs(LOCK_DIR, mode=0o755, exist_ok=True)
    fd = os.open(os.path.join(LOCK_DIR, f"{port}.lock"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _claimed[port] = fd
    return True


def free_port():
    """A TCP and UDP port on 127.0.0.1 that is free now and reserved for this process."""
    low, high = 20000, min(_ephemeral_low(), 65536) - 1
    if high - low < 1000:
        low, high = 10000, 19999
    for _ in range(5000):
        port = random.randint(low, high)
        if port in _claimed or not _bindable(port):
            continue
        if _claim(port):
            return port
    raise RuntimeError("no free loopback port found")
