"""DKIM signing of outbound mail (RFC 6376, RFC 8463) with two real Mailfort
instances: A signs mail from example.test with its rsa2048 and ed25519 keys
(created by `mailfort init`), B receives it, and python3-dkim verifies both
signatures of the message as stored in B's Maildir, fetching A's public
keys from the fake DNS that also routes the mail. Also the key CLI."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile

import dkim
import pytest
from dnslib import DNSRecord

from conftest import BASE, BIN, PASSWORD, relay_pair, close_all, wait_for

ALICE = "alice@example.test"
BOB = "bob@b.test"


ZONE_LINE = re.compile(r'^(\S+)\. IN TXT ((?:"[^"]*" ?)+)$')


def zone_records(text):
    """DKIM `name. IN TXT "a" "b"` lines -> [(name, ['a', 'b'])]."""
    out = []
    for line in text.splitlines():
        m = ZONE_LINE.match(line.strip())
        if m and "._domainkey." in m.group(1):
            out.append((m.group(1), re.findall(r'"([^"]*)"', m.group(2))))
    return out


def publish(dns, records):
    for name, chunks in records:
        assert all(len(c) <= 255 for c in chunks)
        dns.add(name, "TXT", " ".join(f'"{c}"' for c in chunks))


def dns_lookup(dns):
    """A python3-dkim dnsfunc asking the fake DNS (the TXT strings joined)."""
    host, port = dns.address.split(":")

    def lookup(name, timeout=5):
        q = DNSRecord.question(name.decode().rstrip("."), "TXT")
        reply = DNSRecord.parse(q.send(host, int(port), timeout=timeout))
        for rr in reply.rr:
            return b"".join(rr.rdata.data)
        return None

    return lookup


@pytest.fixture
def pair(dns):
    """A (sender side, DKIM keys for example.test) and B (MX for b.test on 127.0.0.3)."""
    a, b = relay_pair(dns)
    dns.add("b.test", "MX", "10 mx.b.test.")
    dns.add("mx.b.test", "A", "127.0.0.3")
    yield a, b
    close_all(a, b)


def submit(a, rcpts, subject="hello", sender=ALICE, extra=""):
    s = a.submission_tls()
    s.login(ALICE, PASSWORD)
    s.sendmail(sender, rcpts,
               f"From: Alice <{sender}>\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n{extra}\r\n"
               f"body {subject}  \r\n\r\nsecond  paragraph\r\n\r\n")
    s.quit()


def dkim_headers(msg):
    return re.findall(rb"^DKIM-Signature:.*?(?=^\S)", msg, re.S | re.M)


def verify_all(msg, lookup):
    """Verifies every DKIM-Signature of msg; returns the list of results."""
    out = []
    for i in range(len(dkim_headers(msg))):
        try:
            out.append(dkim.DKIM(msg).verify(idx=i, dnsfunc=lookup))
        except dkim.DKIMException:  # e.g. body hash mismatch
            out.append(False)
    return out


def test_init_prints_dkim_records(instance):
    # A fresh init prints both DKIM records with the other DNS records.
    d = tempfile.mkdtemp(dir=BASE)
    try:
        r = subprocess.run([BIN, "init", "--dir", d, "--hostname", "mail.example.test", "--domain", "example.test",
                            "--dev"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        printed = zone_records(r.stdout)
        assert len(printed) == 2, r.stdout
        assert "IN MX 10 mail.example.test." in r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)

    keys = zone_records(instance.cli("dkim", "dns", "example.test", check=True).stdout)
    assert len(keys) == 2
    kinds = sorted(re.search(r"k=(\w+)", "".join(c)).group(1) for _, c in keys)
    assert kinds == ["ed25519", "rsa"]
    for name, chunks in keys:
        assert re.fullmatch(r"mf\d{6}[er]\._domainkey\.example\.test", name)
        assert "".join(chunks).startswith("v=DKIM1; k=")
    rsa = [c for _, c in keys if "k=rsa" in c[0]][0]
    assert len(rsa) == 2  # 2048-bit key: more than one 255-octet string
    kdir = os.path.join(instance.dir, "data", "dkim")
    key_files = [f for f in os.listdir(kdir) if f.endswith(".key")]
    assert len(key_files) == 2
    for f in key_files:
        st = os.stat(os.path.join(kdir, f))
        assert st.st_mode & 0o777 == 0o600
        if os.geteuid() == 0:
            assert pwd.getpwuid(st.st_uid).pw_name == "mailfort"


def test_keygen_cli(instance):
    r = instance.cli("dkim", "keygen", "example.test", "--selector", "k2", "--algorithm", "ed25519", check=True)
    recs = zone_records(r.stdout)
    assert recs and recs[0][0] == "k2._domainkey.example.test"
    assert "k=ed25519" in recs[0][1][0]
    dns_text = instance.cli("dkim", "dns", "example.test", check=True).stdout
    names = [n for n, _ in zone_records(dns_text)]
    assert "k2._domainkey.example.test" in names and len(names) == 2  # replaced the ed25519 key, rsa stays
    again = instance.cli("dkim", "keygen", "example.test", "--selector", "k2")
    assert again.returncode != 0
    bad = instance.cli("dkim", "keygen", "example.test", "--selector", "../x")
    assert bad.returncode != 0
    other = instance.cli("dkim", "keygen", "nowhere.test")
    assert other.returncode != 0 and "not a local domain" in other.stderr
    assert instance.cli("dkim", "dns", "nowhere.test").returncode != 0


def test_outbound_mail_is_dual_signed_and_verifies(pair, dns):
    a, b = pair
    publish(dns, zone_records(a.cli("dkim", "dns", "example.test", check=True).stdout))
    a.start()
    b.start()
    submit(a, [BOB], extra="Cc: carol@b.test\r\n")
    msgs = wait_for(lambda: b.messages(BOB))
    assert msgs, a.log()[-3000:]
    m = msgs[0]
    sigs = dkim_headers(m)
    assert len(sigs) == 2, m.decode()
    algs = sorted(re.search(rb"a=([\w-]+)", s).group(1) for s in sigs)
    assert algs == [b"ed25519-sha256", b"rsa-sha256"]
    for s in sigs:
        assert all(len(line) <= 78 for line in s.split(b"\r\n")), s
        h = re.sub(rb"\s", b"", re.search(rb"h=([^;]*)", s).group(1)).split(b":")
        assert h.count(b"from") == 2 and b"to" in h and b"cc" in h and b"subject" in h
        assert b"message-id" in h and b"date" in h  # added by the submission policy
        assert b"d=example.test" in s and b"c=relaxed/relaxed" in s
    lookup = dns_lookup(dns)
    assert verify_all(m, lookup) == [True, True]
    # The queue kept the unsigned message; A's logs name no failure.
    assert "dkim sign-failed" not in a.log()

    # Tampering: a signed header, the body, an added From.
    bad_subject = m.replace(b"Subject: hello", b"Subject: hellO", 1)
    assert verify_all(bad_subject, lookup) == [False, False]
    bad_body = m.replace(b"second  paragraph", b"second paragraph!", 1)
    assert verify_all(bad_body, lookup) == [False, False]
    i = m.index(b"From: Alice")
    extra_from = m[:i] + b"From: mallory@example.test\r\n" + m[i:]
    assert verify_all(extra_from, lookup) == [False, False]
    # An unsigned header may change; whitespace changes survive relaxed canonicalization.
    relaxed = m.replace(b"Subject: hello", b"Subject:   hello ", 1)
    assert verify_all(relaxed, lookup) == [True, True]


def test_foreign_sender_domain_is_not_signed(pair, dns):
    a, b = pair
    # alice may send as herself only; a message from a domain without keys is not signed.
    a.cli("domain", "add", "other.test", check=True)
    a.add_user("carol@other.test")
    a.start()
    b.start()
    s = a.submission_tls()
    s.login("carol@other.test", PASSWORD)
    s.sendmail("carol@other.test", [BOB], "From: carol@other.test\r\nTo: bob@b.test\r\nSubject: x\r\n\r\nx\r\n")
    s.quit()
    msgs = wait_for(lambda: b.messages(BOB))
    assert msgs, a.log()[-3000:]
    assert not dkim_headers(msgs[0])
    # With a key, the same domain signs from now on (the store is read live).
    rec = zone_records(a.cli("dkim", "keygen", "other.test", "--algorithm", "ed25519", check=True).stdout)
    publish(dns, rec)
    s = a.submission_tls()
    s.login("carol@other.test", PASSWORD)
    s.sendmail("carol@other.test", [BOB], "From: carol@other.test\r\nTo: bob@b.test\r\nSubject: y\r\n\r\ny\r\n")
    s.quit()
    msgs = wait_for(lambda: len(b.messages(BOB)) >= 2 and b.messages(BOB))
    signed = [m for m in msgs if dkim_headers(m)]
    assert len(signed) == 1
    assert verify_all(signed[0], dns_lookup(dns)) == [True]


def test_forwarding_signs_only_authenticated_mail(pair, dns):
    """An alias forwarding to b.test: mail alice submitted is signed; mail a
    stranger sent to the MX with "From: alice@example.test" is not (a spoofed
    From must not leave with example.test's signature)."""
    a, b = pair
    publish(dns, zone_records(a.cli("dkim", "dns", "example.test", check=True).stdout))
    a.cli("alias", "add", "fwd@example.test", BOB, check=True)
    a.start()
    b.start()
    submit(a, ["fwd@example.test"], subject="from-alice")
    s = a.smtp("mx")
    s.starttls(context=a.server_hostname_context())
    s.sendmail("someone@outside.test", ["fwd@example.test"],
               "From: alice@example.test\r\nTo: fwd@example.test\r\nSubject: spoofed\r\n\r\nx\r\n")
    s.quit()
    msgs = wait_for(lambda: len(b.messages(BOB)) >= 2 and b.messages(BOB))
    assert msgs and len(msgs) == 2, a.log()[-3000:]
    by_subject = {re.search(rb"Subject: (\S+)", m).group(1): m for m in msgs}
    assert verify_all(by_subject[b"from-alice"], dns_lookup(dns)) == [True, True]
    assert dkim_headers(by_subject[b"spoofed"]) == []
