#!/usr/bin/python3
"""bench/smtp_inbound_auth.py: what inbound mail authentication costs on the MX listener.

Mailfort receives the same DKIM-signed mail twice at the 20-connection inbound point, once with every
[inbound] check off and once with all of them on (SPF, DKIM, DMARC, ARC, a DNSBL, and the counting of
verdicts for DMARC aggregate reports), and prints
delivered/s for both, their ratio, and the verification CPU per message (the server's CPU time from
/proc per message, on minus off).

Load: one message per connection (as a client MTA), 4 KiB, from 127.0.0.2 to user1@example.test, From and
MAIL FROM at bench.test. bench.test publishes in a fake DNS on loopback (tests/integration/dnsserver.py):
SPF `ip4:127.0.0.0/8 -all`, its DKIM key and DMARC p=reject; `bl.bench.test*2` is the DNSBL (it lists
nobody, so every connection costs the lookup). Every message is signed beforehand with dkimpy (rsa-sha256
by default, --algorithm ed25519 for RFC 8463), so the client does no crypto during the run. Not
trusted_networks: that would skip the checks. Bounded: --msgs per run, --runs runs per mode.

Usage: sudo bench/smtp_inbound.sh --auth    (or directly: bench/smtp_inbound_auth.py [--msgs N] [--runs R])
"""
import argparse
import base64
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

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from dnsserver import FakeDNS  # noqa: E402
import mf_instance  # noqa: E402
from benchlib import cpu_seconds, delivered, wait_port  # noqa: E402

BIN = mf_instance.BIN
SENDER_DOMAIN = "bench.test"
RCPT = "user1@example.test"
CLIENT_IP = "127.0.0.2"


def key_pair(algorithm):
    """(private key PEM for dkimpy, p= of the DNS record)."""
    if algorithm == "ed25519":
        k = ed25519.Ed25519PrivateKey.generate()
        raw = k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                              serialization.NoEncryption())
        pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw), base64.b64encode(pub).decode()
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    pub = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(pub).decode()


def signed_messages(n, size, algorithm, key):
    body = ("x" * 75 + "\r\n") * max(1, size // 77)
    out = []
    for i in range(n):
        msg = (f"From: Bench <bench@{SENDER_DOMAIN}>\r\nTo: <{RCPT}>\r\nSubject: bench {i}\r\n"
               f"Message-ID: <bench{i}.{time.time_ns()}@{SENDER_DOMAIN}>\r\n"
               f"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\n{body}").encode()
        sig = dkim.sign(msg, b"bench", SENDER_DOMAIN.encode(), key,
                        signature_algorithm=b"ed25519-sha256" if algorithm == "ed25519" else b"rsa-sha256",
                        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
        out.append(sig + msg)
    return out


def send_one(args):
    port, msg = args
    for attempt in range(5):
        try:
            with smtplib.SMTP("127.0.0.1", port, source_address=(CLIENT_IP, 0), timeout=60) as s:
                s.ehlo("client.bench.test")
                s.sendmail(f"bench@{SENDER_DOMAIN}", [RCPT], msg)
            return 0
        except (smtplib.SMTPException, OSError):
            time.sleep(0.05 * (attempt + 1))
    return 1


def verified(maildir):
    """Whether a delivered message says SPF, DKIM and DMARC passed (else the "on" figures mean nothing)."""
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            head = open(os.path.join(d, name), "rb").read(4096).split(b"\r\n\r\n")[0].replace(b"\r\n\t", b" ")
            return all(w in head for w in (b"spf=pass", b"dkim=pass", b"dmarc=pass"))
    return False


def set_inbound(cfg, on, dns_address):
    text = open(cfg).read()
    start = text.index("[inbound]\n") if "[inbound]\n" in text else None
    dnsbl = f'"bl.{SENDER_DOMAIN}*2"' if on else ""
    section = ("[inbound]\n"
               f"spf = {'true' if on else 'false'}\ndkim = {'true' if on else 'false'}\n"
               f"dmarc = {'true' if on else 'false'}\narc = {'true' if on else 'false'}\n"
               f"dnsbl = [{dnsbl}]\ndmarc_reports = {'true' if on else 'false'}\n\n")
    if start is not None:
        end = text.find("\n[", start + 1)
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    else:
        first = text.index("[[listener]]")
        text = text[:first] + section + text[first:]
    if f'resolvers = ["{dns_address}"]' not in text:
        text = text.replace("resolvers = []", f'resolvers = ["{dns_address}"]')
    open(cfg, "w").write(text)


def run_mode(cfg, port, maildir, messages, conns, on, dns, out_dir):
    set_inbound(cfg, on, dns.address)
    log = open(os.path.join(out_dir, f"mailfort-{'on' if on else 'off'}.log"), "w")
    proc = subprocess.Popen([BIN, "serve", "-c", cfg], stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_port(port)
        shutil.rmtree(os.path.join(maildir, "new"), ignore_errors=True)
        shutil.rmtree(os.path.join(maildir, "cur"), ignore_errors=True)
        before_n, cpu0, t0 = delivered(maildir), cpu_seconds(proc.pid), time.monotonic()
        with multiprocessing.Pool(conns) as pool:
            failures = sum(pool.imap_unordered(send_one, [(port, m) for m in messages], chunksize=4))
        want = before_n + len(messages) - failures
        deadline = time.monotonic() + 120
        while delivered(maildir) < want and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        got = delivered(maildir) - before_n
        cpu = cpu_seconds(proc.pid) - cpu0
        return {"checks": "on" if on else "off", "verified": verified(maildir), "msgs": len(messages), "failed": failures, "delivered": got,
                "seconds": round(elapsed, 3), "delivered_per_s": round(got / elapsed, 1),
                "server_cpu_s": round(cpu, 3), "cpu_ms_per_msg": round(1000 * cpu / max(1, got), 3)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--msgs", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--algorithm", choices=("rsa", "ed25519"), default="rsa")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-inbound-auth"))
    a = ap.parse_args()

    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    os.chmod(a.out, 0o755)
    # Denials carry an SOA (cacheable, RFC 2308) as on the real Internet.
    dns = FakeDNS(negative_ttl=300).start()
    try:
        key, pub = key_pair(a.algorithm)
        dns.add(SENDER_DOMAIN, "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
        record = f'v=DKIM1; k={"ed25519" if a.algorithm == "ed25519" else "rsa"}; p={pub}'
        # character-strings of at most 255 octets (RFC 1035 3.3.14)
        dns.add(f"bench._domainkey.{SENDER_DOMAIN}", "TXT",
                " ".join(f'"{record[i:i + 250]}"' for i in range(0, len(record), 250)))
        dns.add(f"_dmarc.{SENDER_DOMAIN}", "TXT", '"v=DMARC1; p=reject; rua=mailto:dmarc@bench.test"')
        dns.add("client.bench.test", "A", CLIENT_IP)
        inst = os.path.join(a.out, "instance")
        cfg, ports = mf_instance.create(inst, "user%d@example.test", 1, 1, "Sturdy-Lantern-42", 200)
        port = int(ports["mx"])
        maildir = os.path.join(inst, "data", "mailboxes", "example.test", "user1", "mail")
        messages = signed_messages(a.msgs, a.size, a.algorithm, key)
        results = {"off": [], "on": []}
        for _ in range(a.runs):  # alternate, so drift hits both modes alike
            for on in (False, True):
                r = run_mode(cfg, port, maildir, messages, a.conns, on, dns, a.out)
                print(json.dumps(r), flush=True)
                results[r["checks"]].append(r)
        med = {m: {k: statistics.median(x[k] for x in rs) for k in ("delivered_per_s", "cpu_ms_per_msg")}
               for m, rs in results.items()}
        summary = {"size": a.size, "conns": a.conns, "msgs": a.msgs, "algorithm": a.algorithm,
                   "delivered_per_s_off": round(med["off"]["delivered_per_s"], 1),
                   "delivered_per_s_on": round(med["on"]["delivered_per_s"], 1),
                   "ratio_on_off": round(med["on"]["delivered_per_s"] / med["off"]["delivered_per_s"], 3),
                   "verification_cpu_ms_per_msg": round(med["on"]["cpu_ms_per_msg"] - med["off"]["cpu_ms_per_msg"], 3)}
        print(json.dumps(summary), flush=True)
        with open(os.path.join(a.out, "results.txt"), "w") as f:
            f.write(json.dumps(summary) + "\n")
    finally:
        dns.stop()


if __name__ == "__main__":
    main()
