#!/usr/bin/python3
"""bench/hostile_memory.py: the issue-9 memory attacks, measured (loopback only, bounded).

Starts a fresh Mailfort instance with the shipped limits (max_literal_size 64 MiB,
max_inflight_message_bytes 1 GiB) and reports the server's resident memory (VmRSS, and VmHWM,
the peak, reset before each attack) for:
  append    one IMAP APPEND with --literals non-synchronising literals of 64 MiB each (the
            server should refuse the second one when it is announced)
  announce  --announce sessions that each announce a 64 MiB APPEND literal and send nothing,
            then one 1 MiB SMTP message (should be accepted)
  smtp      --concurrent SMTP sessions sending a --size MB message each at once against the
            1 GiB budget: how many are accepted and the peak memory
Prints one JSON line per attack.

  sudo bench/hostile_memory.py                      # build/mailfort
  sudo MAILFORT_BIN=/path/to/old/mailfort bench/hostile_memory.py --skip-unknown-keys
"""
import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mf_instance  # noqa: E402

MiB = 1024 * 1024
PASSWORD = "Bench-Password-1"


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def imaps(port, timeout=30):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=timeout))
    s.recv(4096)
    s.sendall(b"l LOGIN user1@example.test " + PASSWORD.encode() + b"\r\n")
    buf = b""
    while b"l OK" not in buf and b"l NO" not in buf:
        buf += s.recv(4096)
    return s


def attack_append(pid, port, literals):
    s = imaps(port)
    base = status(pid, "VmRSS")
    reset_peak(pid)
    chunk = b"A" * MiB
    sent = 0
    t0 = time.time()
    try:
        s.sendall(b"a APPEND INBOX {%d+}\r\n" % (64 * MiB))
        for i in range(literals):
            for _ in range(64):
                s.sendall(chunk)
                sent += MiB
            if i + 1 < literals:
                s.sendall(b" {%d+}\r\n" % (64 * MiB))
        s.sendall(b"\r\n")
        answer = s.recv(4096).decode(errors="replace").strip()
    except (OSError, ssl.SSLError) as e:
        answer = f"connection closed ({type(e).__name__})"
    s.close()
    return {"attack": "append", "literals": literals, "sent_mib": sent // MiB, "answer": answer[:80],
            "seconds": round(time.time() - t0, 1), "rss_growth_mib": round((status(pid, "VmRSS") - base) / MiB, 1),
            "peak_growth_mib": round((status(pid, "VmHWM") - base) / MiB, 1)}


def smtp_send(port, body, out, i):
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        f = sock.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                if not line or line[3:4] != b"-":
                    return line

        reply()
        for cmd in (b"EHLO bench.example.org", b"MAIL FROM:<b%d@example.org>" % i, b"RCPT TO:<user1@example.test>",
                    b"DATA"):
            sock.sendall(cmd + b"\r\n")
            reply()
        sock.sendall(body + b".\r\n")
        out[i] = reply().decode(errors="replace").strip()
        sock.sendall(b"QUIT\r\n")
        sock.close()
    except OSError as e:
        out[i] = f"error {e}"


def attack_announce(pid, imaps_port, mx_port, sessions):
    conns = []
    for _ in range(sessions):
        s = imaps(imaps_port)
        s.sendall(b"a APPEND INBOX {%d+}\r\n" % (64 * MiB))
        conns.append(s)
    time.sleep(0.5)
    out = [None]
    smtp_send(mx_port, b"Subject: probe\r\n\r\n" + b"B" * 1022 + b"\r\n" * 1024 + b"\r\n", out, 0)
    for s in conns:
        s.close()
    return {"attack": "announce", "sessions": sessions, "smtp_reply": out[0][:60]}


def attack_smtp(pid, port, concurrent, size_mb):
    line = b"C" * 998 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * (size_mb * MiB // len(line))
    base = status(pid, "VmRSS")
    reset_peak(pid)
    out = [None] * concurrent
    t0 = time.time()
    threads = [threading.Thread(target=smtp_send, args=(port, body, out, i)) for i in range(concurrent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return {"attack": "smtp", "concurrent": concurrent, "size_mb": size_mb,
            "accepted": sum(1 for r in out if r and r.startswith("250")),
            "refused_452": sum(1 for r in out if r and r.startswith("452")), "seconds": round(time.time() - t0, 1),
            "peak_growth_mib": round((status(pid, "VmHWM") - base) / MiB, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--literals", type=int, default=10)
    ap.add_argument("--announce", type=int, default=17)
    ap.add_argument("--concurrent", type=int, default=30)
    ap.add_argument("--size", type=int, default=45, help="MB per SMTP message")
    ap.add_argument("--label", default="mailfort")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="mf-hostile-", dir="/tmp")
    os.chmod(d, 0o755)
    inst = os.path.join(d, "inst")
    cfg, ports = mf_instance.create(inst, "user%d@example.test", 1, 1, PASSWORD, 100)
    proc = subprocess.Popen([mf_instance.BIN, "serve", "-c", cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", ports["imaps"]), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        for r in (attack_append(proc.pid, ports["imaps"], args.literals),
                  attack_announce(proc.pid, ports["imaps"], ports["mx"], args.announce),
                  attack_smtp(proc.pid, ports["mx"], args.concurrent, args.size)):
            r["label"] = args.label
            print(json.dumps(r), flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
