#!/usr/bin/python3
"""bench/imap_idle_memory.py: server memory per authenticated IMAP IDLE connection.

Each connection: implicit TLS (default) or plaintext, greeting, LOGIN, SELECT INBOX, IDLE (waits for
the "+" continuation), then stays idle. Memory = sum of PSS (and RSS) from /proc/PID/smaps_rollup over
the server process and all its descendants (so Dovecot's many processes count; procmon.py of the peers'
recipe does the summing). Three samples:
  base    right after the server started (nothing logged in yet)
  warm    with one IDLE connection per user open (per-account state: Mailfort keeps each account's
          mailbox open with its SQLite page cache, shared by all sessions of that account)
  loaded  with all N connections idling (after --settle seconds)
Reports (loaded - base) / N and (loaded - warm) / (N - users), in KiB per connection, and the
server's CPU while the connections idle. Source addresses rotate over --source-ips. Bounded: N
connections, held for --hold seconds, then DONE + LOGOUT and close; the JSON line says whether the
server survived that.

Mailfort (starts it, stops it afterwards; the instance's passwords should be SHA512-CRYPT or opening
10,000 sessions takes 10,000 Argon2id verifications, see mf_instance.py rehash):
  sudo bench/imap_idle_memory.py --instance DIR --conns 10000 --range 1-50 --password PW
  sudo bench/imap_idle_memory.py --conns 2000            # fresh instance, 50 users, empty INBOXes
Any running server (e.g. Dovecot of ../shared/bench/peers, started fresh with PEERS_TLS=1):
  sudo bench/imap_idle_memory.py --port 1993 --pid $PEERS_DIR/run/dovecot/master.pid --conns 2000 \\
      --range 1-50 --password pass --label dovecot
"""
import argparse
import asyncio
import ipaddress
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
BENCH = os.path.join(ROOT, "bench")
PEERS = os.environ.get("PEERS", os.path.join(ROOT, "..", "shared", "bench", "peers"))
BIN = os.environ.get("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))
sys.path.insert(0, PEERS)
sys.path.insert(0, BENCH)
from procmon import Target, cpu_of, mem_kb  # noqa: E402  (peers' recipe)


def parse_ips(s):
    """'127.0.0.1-8' or '127.0.0.2,127.0.0.3' -> list"""
    out = []
    for part in s.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            if "." not in hi:
                hi = lo.rsplit(".", 1)[0] + "." + hi
            a, b = int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi))
            out += [str(ipaddress.ip_address(x)) for x in range(a, b + 1)]
        elif part:
            out.append(part)
    return out


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Server:
    def __init__(self, specs):
        self.targets = [Target(s) for s in specs]

    def pids(self):
        out = set()
        for t in self.targets:
            out |= t.pids()
        return out

    def mem(self):
        for attempt in range(5):  # a process of the tree may exit while it is read (ESRCH)
            try:
                rss, pss, n, _ = mem_kb(self.pids())
                return dict(pss_kb=pss, rss_kb=rss, nproc=n)
            except ProcessLookupError:
                if attempt == 4:
                    raise
                time.sleep(0.2)

    def cpu(self):
        return sum(cpu_of(self.pids()))


async def expect(r, tag):
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed by server")
        if line.startswith(tag):
            return line


async def open_idle(a, i, ctx, ips, sem, lat):
    user = a.users % (a.lo + i % (a.hi - a.lo + 1))
    src = ips[i % len(ips)]
    async with sem:
        t = time.perf_counter()
        r, w = await asyncio.wait_for(asyncio.open_connection(
            a.host, a.port, ssl=ctx if a.tls else None, local_addr=(src, 0)), a.timeout)
        try:
            async def talk():
                g = await r.readline()
                if not g.startswith(b"* OK"):
                    raise ConnectionError(f"greeting {g[:80]!r}")
                w.write(f"a LOGIN {q(user)} {q(a.password)}\r\n".encode())
                line = await expect(r, b"a ")
                if not line.startswith(b"a OK"):
                    raise PermissionError(f"LOGIN {line[:100]!r}")
                if not a.no_select:
                    w.write(b"b SELECT INBOX\r\n")
                    line = await expect(r, b"b ")
                    if not line.startswith(b"b OK"):
                        raise ConnectionError(f"SELECT {line[:100]!r}")
                w.write(b"c IDLE\r\n")
                await expect(r, b"+")
            await asyncio.wait_for(talk(), a.timeout)
        except BaseException:
            w.close()
            raise
        lat.append(time.perf_counter() - t)
        return r, w


async def open_many(a, n, ctx, ips, first=0):
    sem, lat = asyncio.Semaphore(a.parallel), []
    t0 = time.monotonic()
    res = await asyncio.gather(*[open_idle(a, first + i, ctx, ips, sem, lat) for i in range(n)],
                               return_exceptions=True)
    ok = [x for x in res if not isinstance(x, BaseException)]
    errs = {}
    for x in res:
        if isinstance(x, BaseException):
            k = f"{type(x).__name__}: {x}"[:160]
            errs[k] = errs.get(k, 0) + 1
    lat.sort()
    return ok, errs, time.monotonic() - t0, lat


async def close_all(conns):
    for r, w in conns:
        try:
            w.write(b"DONE\r\nd LOGOUT\r\n")
        except Exception:  # noqa: BLE001
            pass
    await asyncio.sleep(1)
    for r, w in conns:
        w.close()
    await asyncio.sleep(0.5)


async def measure(a, server):
    ips = parse_ips(a.source_ips)
    ctx = None
    if a.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    await asyncio.sleep(a.settle)
    base = server.mem()
    # warm-up: one connection per user first (kept open: they count among the N)
    nusers = min(a.conns, a.hi - a.lo + 1)
    warm, werrs, _, _ = await open_many(a, nusers, ctx, ips)
    await asyncio.sleep(a.settle)
    warmed = server.mem()
    rest, errs, t_open, lat = await open_many(a, a.conns - nusers, ctx, ips, first=nusers)
    conns = warm + rest
    await asyncio.sleep(a.settle)
    c0, t0 = server.cpu(), time.monotonic()
    await asyncio.sleep(a.hold)
    idle_cpu = (server.cpu() - c0) / (time.monotonic() - t0)
    loaded = server.mem()
    alive = sum(1 for r, w in conns if not (r.at_eof() or w.is_closing()))
    n = max(1, len(conns))
    out = dict(bench="imap_idle_memory", label=a.label, port=a.port, tls=a.tls, select=not a.no_select,
               users=f"{a.users} {a.lo}-{a.hi}", conns=a.conns, conns_ok=len(conns), alive=alive,
               errors=a.conns - len(conns), open_s=round(t_open, 1),
               setups_per_s=round(len(rest) / t_open, 1) if t_open else None,
               setup_ms_p50=round(1000 * lat[len(lat) // 2], 1) if lat else None,
               setup_ms_p99=round(1000 * lat[int(0.99 * (len(lat) - 1))], 1) if lat else None,
               base=base, warm=warmed, loaded=loaded,
               pss_per_conn_kib=round((loaded["pss_kb"] - base["pss_kb"]) / n, 1),
               rss_per_conn_kib=round((loaded["rss_kb"] - base["rss_kb"]) / n, 1),
               pss_per_conn_after_warmup_kib=round((loaded["pss_kb"] - warmed["pss_kb"]) / max(1, len(rest)), 1),
               idle_cpu_pct=round(100 * idle_cpu, 2))
    if errs or werrs:
        out["error_samples"] = dict(sorted({**werrs, **errs}.items(), key=lambda kv: -kv[1])[:5])
    # DONE + LOGOUT on all, then: is the server still there?
    await close_all(conns)
    await asyncio.sleep(1)
    try:
        out["server_alive_after_logout"] = bool(server.pids())
    except SystemExit:  # procmon: the process is gone
        out["server_alive_after_logout"] = False
    return out


def wait_port(port, proc=None, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"mailfort exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} not up")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--instance", help="existing Mailfort instance dir (mf_instance.py create); started here")
    ap.add_argument("--port", type=int, help="attach to a running server on this port (with --pid)")
    ap.add_argument("--pid", action="append", default=[], help="server PID or pidfile (attach mode)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--plain", dest="tls", action="store_false", help="no TLS (Mailfort refuses LOGIN)")
    ap.add_argument("--users", default="user%d@example.test")
    ap.add_argument("--range", default="1-50")
    ap.add_argument("--password", default="Bench-Pass-2024")
    ap.add_argument("--no-select", action="store_true", help="IDLE without SELECT INBOX")
    ap.add_argument("--source-ips", default="127.0.0.1-8")
    ap.add_argument("--parallel", type=int, default=64, help="setups in flight")
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--hold", type=float, default=10)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    a.lo, a.hi = (int(x) for x in a.range.split("-"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.conns + 500:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {a.conns + 500}")

    if a.port:  # attach
        if not a.pid:
            ap.error("--port needs --pid")
        out = asyncio.run(measure(a, Server(a.pid)))
        print(json.dumps(out), flush=True)
        return 0

    import mf_instance
    tmp = None
    d = a.instance
    if not d:
        tmp = tempfile.mkdtemp(prefix="mf-imap-idle-", dir="/tmp")
        os.chmod(tmp, 0o755)
        d = os.path.join(tmp, "i")
        mf_instance.create(d, a.users, a.lo, a.hi, a.password, a.conns)
        mf_instance.rehash(d, a.password, "sha512-crypt")
    cfg = os.path.join(d, "mailfort.toml")
    text = open(cfg).read()
    a.port = int(re.search(r'name = "imaps"\nprotocol = "imap"\naddress = "127\.0\.0\.1:(\d+)"', text).group(1))
    proc = subprocess.Popen([BIN, "serve", "-c", cfg], stderr=open(os.path.join(d, "idle-stderr.log"), "w"),
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)))
    try:
        wait_port(a.port, proc)
        out = asyncio.run(measure(a, Server([str(proc.pid)])))
        out["label"] = a.label or "mailfort"
        time.sleep(1)
        out["server_alive_after_logout"] = out["server_alive_after_logout"] and proc.poll() is None
        print(json.dumps(out), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
