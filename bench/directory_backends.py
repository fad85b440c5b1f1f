#!/usr/bin/python3
"""bench/directory_backends.py: what a directory on a database server costs.

Mailfort runs with its directory on each engine in turn, with the lookup
cache on ([directory] cache_seconds = 10, the default) and off (0):
  sqlite       the embedded default (never cached: it is a local file)
  postgresql   Debian's PostgreSQL 15, on loopback TCP
  mysql        Debian's MariaDB 10.11, on loopback TCP
Each server is a private one started in a temp dir (tests/integration/
dbservers.py), holding the guide's schema plus Mailfort's tables
(`mailfort directory init-schema`), with the accounts added by the CLI.

Three figures per setting:
  inbound   delivered/s at --conns connections on the MX listener (one
            message per connection, --msgs messages spread over --users
            recipients, so lookups miss the cache until each user was seen)
  logins    IMAP LOGIN+LOGOUT per second over implicit TLS at --conns
            clients, the auth cache on (so a login costs the account lookup
            and a keyed hash, not Argon2id: what the directory adds shows)
  lookup    mean RCPT round trip in one SMTP session over --lookups distinct
            recipients (each a cache miss) minus the same on SQLite: the
            latency one directory lookup adds

Bounded: every loop runs a fixed count. Spam scoring, Sieve and outbound
delivery are off, so the directory is what differs.

Usage: bench/directory_backends.py [--msgs 2000] [--logins 2000] [--runs 2]
"""
import argparse
import imaplib
import json
import multiprocessing
import os
import shutil
import signal
import smtplib
import ssl
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
os.environ.setdefault("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))
from conftest import BIN, PASSWORD, Instance  # noqa: E402
from dnsserver import FakeDNS  # noqa: E402
import dbservers  # noqa: E402
from benchlib import cpu_seconds, delivered  # noqa: E402

DOMAIN = "example.test"
SENDER = "bench@example.org"
CLIENT_IP = "127.0.0.2"
HELO = "client.example.org"


def message(i):
    body = "".join(f"line {n} of message {i}: the quick brown fox jumps over the lazy dog\r\n" for n in range(24))
    return (f"From: {SENDER}\r\nTo: user@{DOMAIN}\r\nSubject: bench {i}\r\nMessage-ID: <bench{i}@example.org>\r\n"
            f"Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n{body}").encode()


def send_one(args):
    port, i, rcpt = args
    for attempt in range(5):
        try:
            with smtplib.SMTP("127.0.0.1", port, source_address=(CLIENT_IP, 0), timeout=60) as s:
                s.ehlo(HELO)
                s.sendmail(SENDER, [rcpt], message(i))
            return 0
        except smtplib.SMTPResponseException as e:
            if 500 <= e.smtp_code < 600:
                return 1
            time.sleep(0.05 * (attempt + 1))
        except (smtplib.SMTPException, OSError):
            time.sleep(0.05 * (attempt + 1))
    return 1


def login_many(args):
    port, users, count = args
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    failed = 0
    for n in range(count):
        try:
            c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
            c.login(users[n % len(users)], PASSWORD)
            c.logout()
        except (imaplib.IMAP4.error, OSError):
            failed += 1
    return failed


def users(n):
    return [f"user{i}@{DOMAIN}" for i in range(1, n + 1)]


def setup_instance(dns, engine, server, nusers):
    inst = Instance(dns)
    inst.set("log", "level", '"warn"')
    inst.set("limits", "max_connections_per_ip", "1000")
    inst.set("limits", "auth_failures_before_ban", "0")
    inst.set("spam", "engine", '"off"')
    inst.set("sieve", "enabled", "false")
    inst.set("delivery", "enabled", "false")
    if server is not None:
        db = server.create_database(f"bench_{engine}")
        inst.set("directory", "backend", json.dumps(engine))
        inst.set("directory", "url", json.dumps(server.url(db)))
        inst.set("directory", "password_file", json.dumps(server.password_file))
        inst.cli("directory", "init-schema", check=True)
        inst.cli("domain", "add", DOMAIN, check=True)
    for u in users(nusers):
        inst.add_user(u)
    return inst


def measure(inst, a, label):
    mail_root = os.path.join(inst.dir, "data", "mailboxes", DOMAIN)
    shutil.rmtree(mail_root, ignore_errors=True)
    inst.start()
    try:
        pid = inst.proc.pid
        rcpts = users(a.users)
        # Inbound.
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        with multiprocessing.Pool(a.conns) as pool:
            failures = sum(pool.imap_unordered(
                send_one, [(inst.ports["mx"], i, rcpts[i % len(rcpts)]) for i in range(a.msgs)], chunksize=4))
        want = a.msgs - failures
        deadline = time.monotonic() + 120
        while delivered(mail_root) < want and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        got = delivered(mail_root)
        inbound = {"delivered_per_s": round(got / elapsed, 1), "failed": failures,
                   "cpu_ms_per_msg": round(1000 * (cpu_seconds(pid) - cpu0) / max(1, got), 3)}
        # IMAP logins (one warm-up login per user fills the auth cache).
        login_many((inst.ports["imaps"], rcpts, len(rcpts)))
        per = a.logins // a.conns
        t0 = time.monotonic()
        with multiprocessing.Pool(a.conns) as pool:
            lfail = sum(pool.map(login_many, [(inst.ports["imaps"], rcpts, per)] * a.conns))
        lelapsed = time.monotonic() - t0
        logins = {"logins_per_s": round((per * a.conns - lfail) / lelapsed, 1), "failed": lfail}
        # RCPT latency over distinct recipients (all misses on a fresh cache).
        rtts = []
        with smtplib.SMTP("127.0.0.1", inst.ports["mx"], source_address=(CLIENT_IP, 0), timeout=60) as s:
            s.ehlo(HELO)
            for n in range(a.lookups):
                if n % 50 == 0:
                    if n:
                        s.rset()
                    s.mail(SENDER)
                t = time.perf_counter()
                code, _ = s.rcpt(f"nobody{n}.{label.replace('/', '-')}@{DOMAIN}")
                rtts.append(time.perf_counter() - t)
                assert code == 550, code
        lookup = {"rcpt_ms_mean": round(1000 * statistics.mean(rtts), 3),
                  "rcpt_ms_median": round(1000 * statistics.median(rtts), 3)}
        return {"setting": label, "inbound": inbound, "imap": logins, "lookup": lookup}
    finally:
        inst.stop(expect_clean=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--msgs", type=int, default=2000)
    ap.add_argument("--logins", type=int, default=2000)
    ap.add_argument("--lookups", type=int, default=500)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--engines", default="sqlite,postgresql,mysql")
    a = ap.parse_args()

    dns = FakeDNS(negative_ttl=300).start()
    dns.add("example.org", "A", CLIENT_IP)
    dns.add("example.org", "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
    dns.add(HELO, "A", CLIENT_IP)
    dns.add("2.0.0.127.in-addr.arpa", "PTR", f"{HELO}.")
    servers, instances, results = {}, {}, []
    try:
        for engine in a.engines.split(","):
            server = None
            if engine == "postgresql":
                server = servers[engine] = dbservers.PostgreSQL()
            elif engine == "mysql":
                server = servers[engine] = dbservers.MariaDB()
            instances[engine] = setup_instance(dns, engine, server, a.users)
        for _ in range(a.runs):  # alternate, so drift hits every setting alike
            for engine, inst in instances.items():
                for cache in ((10,) if engine == "sqlite" else (10, 0)):
                    label = engine if engine == "sqlite" else f"{engine}/cache{cache}"
                    if engine != "sqlite":
                        inst.set("directory", "cache_seconds", str(cache))
                    r = measure(inst, a, label)
                    print(json.dumps(r), flush=True)
                    results.append(r)
        summary = {}
        for label in dict.fromkeys(r["setting"] for r in results):
            rs = [r for r in results if r["setting"] == label]
            summary[label] = {
                "delivered_per_s": statistics.median(r["inbound"]["delivered_per_s"] for r in rs),
                "cpu_ms_per_msg": statistics.median(r["inbound"]["cpu_ms_per_msg"] for r in rs),
                "imap_logins_per_s": statistics.median(r["imap"]["logins_per_s"] for r in rs),
                "rcpt_ms_mean": statistics.median(r["lookup"]["rcpt_ms_mean"] for r in rs),
            }
        base = summary.get("sqlite", {}).get("rcpt_ms_mean")
        if base is not None:
            for v in summary.values():
                v["lookup_adds_ms"] = round(v["rcpt_ms_mean"] - base, 3)
        print(json.dumps({"conns": a.conns, "msgs": a.msgs, "logins": a.logins, "runs": a.runs,
                          "median": summary}, indent=1), flush=True)
    finally:
        for inst in instances.values():
            inst.cleanup()
        for s in servers.values():
            s.cleanup()
        dns.stop()


if __name__ == "__main__":
    main()
