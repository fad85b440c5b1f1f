#!/usr/bin/python3
"""bench/smtp_inbound_sieve.py: what Sieve costs on the MX listener.

Mailfort receives the same mail at the 20-connection inbound point in two
modes, taking turns:
  nosieve  [sieve] enabled = false: the figure without Sieve
  sieve    the global before script `mailfort init` writes (spam flag ->
           Spam folder) and a user script of 30 rules
           (bench/sieve/user-30-rules.sieve) active for the recipient
and prints delivered/s of each, the ratio (the issue's goal: sieve >= 90 %
of nosieve) and Mailfort's CPU per message from /proc. Spam scoring is off
in both modes, so the difference is Sieve alone.

Load: one message per connection (as a client MTA) from 127.0.0.2, the
messages of the seeded corpus (bench/spam_corpus.py: text, HTML,
multipart, URLs, attachments) to user1@example.test, one in ten to
user1+news@example.test instead: the +detail reaches the script's
envelope rule that files it into Newsletters, the rest falls through all
30 rules to INBOX. `--filed-share 1` sends everything to +news (every
message filed: the worst case, each one an indexed append). Delivered
means a file in any folder of the mailbox. Bounded: --msgs per run, --runs
runs per mode. Compile and run time of the script itself:
build/sieve_bench (bench/sievebench).

Usage: sudo bench/smtp_inbound.sh --sieve   (or directly: bench/smtp_inbound_sieve.py [--msgs N] [--runs R])
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
from conftest import BIN, Instance  # noqa: E402
from dnsserver import FakeDNS  # noqa: E402
import spam_corpus  # noqa: E402
from benchlib import cpu_seconds, delivered, wait_port  # noqa: E402

MAILBOX = "user1@example.test"
RCPT = "user1@example.test"
RCPT_FILED = "user1+news@example.test"
SENDER = "bench@example.org"
CLIENT_IP = "127.0.0.2"
HELO = "client.example.org"
SCRIPT = os.path.join(ROOT, "bench", "sieve", "user-30-rules.sieve")


def send_one(args):
    port, msg, rcpt = args
    for attempt in range(5):
        try:
            with smtplib.SMTP("127.0.0.1", port, source_address=(CLIENT_IP, 0), timeout=60) as s:
                s.ehlo(HELO)
                s.sendmail(SENDER, [rcpt], msg)
            return 0
        except smtplib.SMTPResponseException as e:
            if 500 <= e.smtp_code < 600:
                return 1
            time.sleep(0.05 * (attempt + 1))
        except (smtplib.SMTPException, OSError):
            time.sleep(0.05 * (attempt + 1))
    return 1


def rcpt_of(i, filed_share):
    """Every message whose index falls in the filed share goes to +news."""
    return RCPT_FILED if (i % 100) < round(filed_share * 100) else RCPT


def run_mode(inst, mode, messages, conns, out_dir, filed_share):
    inst.set("sieve", "enabled", "false" if mode == "nosieve" else "true")
    port = inst.ports["mx"]
    mail_root = inst.maildir(MAILBOX)
    shutil.rmtree(mail_root, ignore_errors=True)
    log = open(os.path.join(out_dir, f"mailfort-{mode}.log"), "w")
    proc = subprocess.Popen([BIN, "serve", "-c", inst.config], stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_port(port)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        with multiprocessing.Pool(conns) as pool:
            failures = sum(pool.imap_unordered(send_one, [(port, m, rcpt_of(i, filed_share)) for i, m in enumerate(messages)], chunksize=4))
        want = len(messages) - failures
        deadline = time.monotonic() + 120
        while delivered(mail_root) < want and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        got = delivered(mail_root)
        cpu = cpu_seconds(proc.pid) - cpu0
        inbox = sum(len(os.listdir(os.path.join(mail_root, d))) for d in ("new", "cur")
                    if os.path.isdir(os.path.join(mail_root, d)))
        return {"mode": mode, "msgs": len(messages), "refused_or_failed": failures, "delivered": got,
                "inbox": inbox, "seconds": round(elapsed, 3), "delivered_per_s": round(got / elapsed, 1),
                "mailfort_cpu_ms_per_msg": round(1000 * cpu / max(1, got), 3)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def install_script(inst):
    """The user's active script, as `mailfort sieve put` + `activate` store it."""
    r = inst.cli("sieve", "put", MAILBOX, "main", SCRIPT)
    if r.returncode != 0:
        raise SystemExit(f"sieve put: {r.stderr}")
    r = inst.cli("sieve", "activate", MAILBOX, "main")
    if r.returncode != 0:
        raise SystemExit(f"sieve activate: {r.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--msgs", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--filed-share", type=float, default=0.1,
                    help="share of messages sent to user1+news, which the script files (default 0.1)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-inbound-sieve"))
    a = ap.parse_args()

    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    os.chmod(a.out, 0o755)
    corpus = os.path.join(a.out, "corpus")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "spam_corpus.py"), corpus, "--scan", str(a.msgs),
                    "--train", "0"], check=True, capture_output=True)
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
    inst = Instance(dns)
    try:
        inst.set("log", "level", '"warn"')
        inst.set("limits", "max_connections_per_ip", "1000")
        inst.set("spam", "engine", '"off"')
        inst.set("delivery", "enabled", "false")
        inst.add_user(MAILBOX)
        install_script(inst)
        results = {"nosieve": [], "sieve": []}
        for _ in range(a.runs):  # alternate, so drift hits both modes alike
            for mode in results:
                r = run_mode(inst, mode, messages, a.conns, a.out, a.filed_share)
                print(json.dumps(r), flush=True)
                results[mode].append(r)
        med = {m: {k: statistics.median(x[k] for x in rs) for k in ("delivered_per_s", "mailfort_cpu_ms_per_msg")}
               for m, rs in results.items()}
        summary = {"conns": a.conns, "msgs": a.msgs, "runs": a.runs, "filed_share": a.filed_share,
                   "delivered_per_s": {m: round(v["delivered_per_s"], 1) for m, v in med.items()},
                   "ratio_sieve_to_nosieve": round(med["sieve"]["delivered_per_s"] / med["nosieve"]["delivered_per_s"], 3),
                   "mailfort_cpu_ms_per_msg": {m: round(v["mailfort_cpu_ms_per_msg"], 3) for m, v in med.items()}}
        print(json.dumps(summary), flush=True)
        with open(os.path.join(a.out, "results.txt"), "w") as f:
            f.write(json.dumps(summary) + "\n")
    finally:
        inst.cleanup()
        dns.stop()


if __name__ == "__main__":
    main()
