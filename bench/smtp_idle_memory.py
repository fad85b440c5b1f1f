#!/usr/bin/python3
"""bench/smtp_idle_memory.py: memory per idle SMTP connection.

Starts a Mailfort instance (mailfort init --dev in a temp dir, loopback
only), opens N connections that read the greeting and say EHLO (plain, or
--tls for implicit TLS on the smtps listener), then holds them idle and
reports the server's PSS/RSS growth per connection. Bounded: N connections,
then everything is closed and the server stopped.

    sudo bench/smtp_idle_memory.py --conns 5000 [--tls]
"""
import argparse
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))


def mem_kb(pid):
    pss = rss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    return pss, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--tls", action="store_true", help="implicit TLS (smtps listener)")
    ap.add_argument("--sources", type=int, default=8, help="spread over 127.0.0.1..N source addresses")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    base = tempfile.mkdtemp(prefix="mf-idle-", dir="/tmp")
    os.chmod(base, 0o755)
    inst = os.path.join(base, "i")
    subprocess.run([BIN, "init", "--dir", inst, "--hostname", "mail.example.test", "--domain", "example.test",
                    "--dev"], check=True, capture_output=True)
    cfg = os.path.join(inst, "mailfort.toml")
    text = open(cfg).read()
    ports = {}
    for name, port in re.findall(r'name = "(\w+)"\nprotocol = "\w+"\naddress = "127\.0\.0\.1:(\d+)"', text):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports[name] = s.getsockname()[1]
        text = text.replace(f'127.0.0.1:{port}"', f'127.0.0.1:{ports[name]}"')
    text = text.replace("[limits]", f"[limits]\nmax_connections = {a.conns + 100}\nmax_connections_per_ip = {a.conns}")
    text = text.replace('level = "info"', 'level = "warn"')
    open(cfg, "w").write(text)
    proc = subprocess.Popen([BIN, "serve", "-c", cfg], stderr=subprocess.DEVNULL)
    port = ports["smtps" if a.tls else "mx"]
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.5)
    before = mem_kb(proc.pid)
    ctx = ssl.create_default_context(cafile=os.path.join(inst, "tls", "cert.pem"))
    ctx.check_hostname = False
    conns = []
    t0 = time.time()
    try:
        for i in range(a.conns):
            src = f"127.0.0.{1 + i % a.sources}"
            s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
            if a.tls:
                s = ctx.wrap_socket(s)
            s.recv(200)
            s.sendall(b"EHLO client.example.org\r\n")
            conns.append(s)
        for s in conns:
            s.recv(1000)
        opened = time.time() - t0
        time.sleep(2)
        after = mem_kb(proc.pid)
    finally:
        for s in conns:
            s.close()
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(base, ignore_errors=True)
    n = len(conns)
    print(json.dumps({"bench": "smtp_idle_memory", "tls": a.tls, "conns": n, "open_seconds": round(opened, 2),
                      "pss_before_kb": before[0], "pss_after_kb": after[0],
                      "pss_per_conn_kb": round((after[0] - before[0]) / n, 2),
                      "rss_per_conn_kb": round((after[1] - before[1]) / n, 2)}))


if __name__ == "__main__":
    sys.exit(main())
