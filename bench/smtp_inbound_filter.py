#!/usr/bin/python3
"""bench/smtp_inbound_filter.py: what spam and virus filtering cost on the MX listener.

Mailfort receives the same mail at the 20-connection inbound point in three
modes, taking turns:
  off      [spam] engine = "off", no [antivirus]: the unfiltered figure
  scoring  [spam] engine = "builtin" (Bayes trained and voting, DNSBL and
           URL-list lookups), no antivirus
  filter   the built-in scorer and [antivirus] clamd (Debian's clamd,
           tests/integration/clamd_peer.py, with the test signature DB)
and prints delivered/s of each, the ratios to "off" (the issue's goal:
"filter" >= 70% of "off"), Mailfort's CPU per message from /proc, and
clamd's CPU per message separately.

Load: one message per connection (as a client MTA) from 127.0.0.2, the
messages of the seeded corpus (bench/spam_corpus.py: text, HTML,
multipart, URLs, attachments; 40% spam) to user1@example.test; delivered
means a file in any folder of the mailbox (spam goes to Junk). The mail
authentication checks ([inbound] defaults) run in every mode. DNS: a fake
DNS on loopback (SOA on denials, so they are cached). Bounded: --msgs per
run, --runs runs per mode.

Usage: sudo bench/smtp_inbound.sh --filter   (or directly: bench/smtp_inbound_filter.py [--msgs N] [--runs R])
"""
import argparse
import json
import multiprocessing
import os
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
os.environ.setdefault("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))
from clamd_peer import Clamd  # noqa: E402
from conftest import BIN, Instance  # noqa: E402
from dnsserver import FakeDNS  # noqa: E402
import spam_corpus  # noqa: E402
from benchlib import cpu_seconds, delivered, wait_port  # noqa: E402

RCPT = "user1@example.test"
SENDER = "bench@example.org"
CLIENT_IP = "127.0.0.2"
HELO = "client.example.org"


def send_one(args):
    port, msg = args
    for attempt in range(5):
        try:
            with smtplib.SMTP("127.0.0.1", port, source_address=(CLIENT_IP, 0), timeout=60) as s:
                s.ehlo(HELO)
                s.sendmail(SENDER, [RCPT], msg)
            return 0
        except smtplib.SMTPResponseException as e:
            if 500 <= e.smtp_code < 600:
                return 1  # refused (a spam reject): counted, not retried
            time.sleep(0.05 * (attempt + 1))
        except (smtplib.SMTPException, OSError):
            time.sleep(0.05 * (attempt + 1))
    return 1


def configure(inst, mode, clamd):
    inst.set("spam", "engine", '"off"' if mode == "off" else '"builtin"')
    inst.set("antivirus", "clamd", f'"{clamd.tcp_address}"' if mode == "filter" else '""')


def run_mode(inst, mode, clamd, messages, conns, out_dir):
    configure(inst, mode, clamd)
    port = inst.ports["mx"]
    mail_root = inst.maildir(RCPT)
    shutil.rmtree(mail_root, ignore_errors=True)
    log = open(os.path.join(out_dir, f"mailfort-{mode}.log"), "w")
    proc = subprocess.Popen([BIN, "serve", "-c", inst.config], stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_port(port)
        cpu0, ccpu0, t0 = cpu_seconds(proc.pid), cpu_seconds(clamd.proc.pid), time.monotonic()
        with multiprocessing.Pool(conns) as pool:
            failures = sum(pool.imap_unordered(send_one, [(port, m) for m in messages], chunksize=4))
        want = len(messages) - failures
        deadline = time.monotonic() + 120
        while delivered(mail_root) < want and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        got = delivered(mail_root)
        cpu, ccpu = cpu_seconds(proc.pid) - cpu0, cpu_seconds(clamd.proc.pid) - ccpu0
        return {"mode": mode, "msgs": len(messages), "refused_or_failed": failures, "delivered": got,
                "seconds": round(elapsed, 3), "delivered_per_s": round(got / elapsed, 1),
                "mailfort_cpu_ms_per_msg": round(1000 * cpu / max(1, got), 3),
                "clamd_cpu_ms_per_msg": round(1000 * ccpu / max(1, got), 3)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--msgs", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--train", type=int, default=210)
    ap.add_argument("--modes", default="off,scoring,filter", help="comma-separated subset of off,scoring,filter")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-inbound-filter"))
    a = ap.parse_args()

    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    os.chmod(a.out, 0o755)
    corpus = os.path.join(a.out, "corpus")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "spam_corpus.py"), corpus, "--scan", str(a.msgs),
                    "--train", str(a.train)], check=True, capture_output=True)
    messages = []
    for name in sorted(os.listdir(os.path.join(corpus, "scan"))):
        with open(os.path.join(corpus, "scan", name), "rb") as f:
            messages.append(f.read())

    dns = FakeDNS(negative_ttl=300).start()
    for d in spam_corpus.SENDER_DOMAINS:
        dns.add(d, "A", CLIENT_IP)
        dns.add(d, "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
    dns.add(HELO, "A", CLIENT_IP)
    dns.add("2.0.0.127.in-addr.arpa", "PTR", f"{HELO}.")
    clamd = Clamd()
    inst = Instance(dns)
    try:
        inst.set("log", "level", '"warn"')
        inst.set("limits", "max_connections_per_ip", "1000")
        inst.set("spam", "bayes_min_learns", str(min(200, a.train)))
        inst.set("spam", "uribl", '["dbl.spamhaus.org", "multi.uribl.com"]')
        inst.set("inbound", "dnsbl", '["zen.spamhaus.org*2", "bl.spamcop.net"]')
        inst.set("delivery", "enabled", "false")
        inst.add_user(RCPT)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "mailfort:mailfort", corpus], check=True)
            subprocess.run(["chmod", "755", a.out], check=True)
        for cls in ("spam", "ham"):
            r = inst.cli("spam", "learn", f"--{cls}", os.path.join(corpus, "train", cls))
            if r.returncode != 0:
                raise SystemExit(r.stderr)
        results = {m: [] for m in a.modes.split(",")}
        for _ in range(a.runs):  # alternate, so drift hits every mode alike
            for mode in results:
                r = run_mode(inst, mode, clamd, messages, a.conns, a.out)
                print(json.dumps(r), flush=True)
                results[mode].append(r)
        med = {m: {k: statistics.median(x[k] for x in rs)
                   for k in ("delivered_per_s", "mailfort_cpu_ms_per_msg", "clamd_cpu_ms_per_msg")}
               for m, rs in results.items()}
        off = med["off"]["delivered_per_s"] if "off" in med else None
        summary = {"conns": a.conns, "msgs": a.msgs, "runs": a.runs,
                   "delivered_per_s": {m: round(v["delivered_per_s"], 1) for m, v in med.items()},
                   "ratio_to_off": {m: round(v["delivered_per_s"] / off, 3) for m, v in med.items()} if off else None,
                   "mailfort_cpu_ms_per_msg": {m: round(v["mailfort_cpu_ms_per_msg"], 3) for m, v in med.items()},
                   "clamd_cpu_ms_per_msg": round(med["filter"]["clamd_cpu_ms_per_msg"], 3) if "filter" in med else None}
        print(json.dumps(summary), flush=True)
        with open(os.path.join(a.out, "results.txt"), "w") as f:
            f.write(json.dumps(summary) + "\n")
    finally:
        inst.cleanup()
        clamd.close()
        dns.stop()


if __name__ == "__main__":
    main()
