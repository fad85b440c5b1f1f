"""bench/benchlib.py: what the inbound benchmarks share (process CPU, delivered
files, waiting for a listener)."""
import os
import socket
import time


def cpu_seconds(pid):
    """User + system CPU seconds the process has used so far (/proc)."""
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


def delivered(mail_root):
    """Messages in every Maildir folder below `mail_root` (new/ and cur/)."""
    n = 0
    for dirpath, _, files in os.walk(mail_root):
        if os.path.basename(dirpath) in ("new", "cur"):
            n += len(files)
    return n


def wait_port(port, tries=300):
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("mailfort did not start")
