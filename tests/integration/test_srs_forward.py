"""Forwarding that still authenticates (issue 12): SRS and ARC sealing.

A message from an outside sender (sender.test, SPF -all but for 127.0.0.5)
to an alias on A that forwards elsewhere leaves A with the envelope sender
rewritten to SRS0=...@example.test (A's domain, whose SPF allows A's
127.0.0.2), so the destination's SPF check passes; bounces to that address
are validated and routed back to the original sender; forged and expired
SRS addresses are refused at RCPT. The expected SRS addresses are computed
here independently, the way libsrs2 and postsrsd compute them, from A's
secret file."""
import base64
import hashlib
import hmac
import os
import re
import smtplib
import time

import pytest

import dkim
from conftest import Instance, Raw, close_all, relay_pair, wait_for
from smtpsink import SmtpSink
from test_dkim import dns_lookup, publish, zone_records

ORIGIN_IP = "127.0.0.5"  # the original sender's server
ORIGIN = "carol@sender.test"
SINK_HOST = "127.0.0.6"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def publish_spf(dns):
    dns.add("sender.test", "TXT", f'"v=spf1 ip4:{ORIGIN_IP} -all"')
    dns.add("example.test", "TXT", '"v=spf1 ip4:127.0.0.2 -all"')


def srs_secret(inst):
    with open(os.path.join(inst.dir, "data", "srs.key")) as f:
        return f.readline().strip().encode()


def srs0(inst, address, domain, days_ago=0):
    """libsrs2's SRS0 address for `address` forwarded by `domain`, stamped `days_ago`."""
    local, host = address.rsplit("@", 1)
    day = (int(time.time()) // 86400 - days_ago) % 1024
    stamp = BASE32[day >> 5] + BASE32[day & 31]
    digest = hmac.new(srs_secret(inst), (stamp + host + local).lower().encode(), hashlib.sha1).digest()
    return f"SRS0={base64.b64encode(digest)[:4].decode()}={stamp}={host}={local}@{domain}"


def send_from_origin(inst, rcpt, subject, sender=ORIGIN):
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="mx.sender.test",
                     source_address=(ORIGIN_IP, 0), timeout=10)
    msg = (f"From: Carol <{ORIGIN}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@sender.test>\r\n\r\nHello through the alias.\r\n")
    s.sendmail(sender, [rcpt], msg)
    s.quit()


@pytest.fixture
def sink():
    s = SmtpSink(SINK_HOST).start()
    yield s
    s.stop()


@pytest.fixture
def forwarder(dns, sink):
    """A with fwd@example.test -> dest@sink.test; sink.test and sender.test
    are both the sink (remote port: the sink's)."""
    publish_spf(dns)
    for d in ("sink.test", "sender.test"):
        dns.add(d, "MX", "10 mx.sink.test.")
    dns.add("mx.sink.test", "A", SINK_HOST)
    a = Instance(dns)
    a.cli("alias", "add", "fwd@example.test", "dest@sink.test", check=True)
    a.set("delivery", "remote_port", str(sink.port))
    a.set("delivery", "source_address", '"127.0.0.2"')
    a.set("queue", "minimal_backoff_seconds", "3600")
    a.start()
    yield a
    close_all(a)


def test_secret_made_at_init_mode_0600(instance):
    path = os.path.join(instance.dir, "data", "srs.key")
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o600
    assert len(base64.b64decode(open(path).read().strip())) >= 32


def test_forward_rewrites_sender_and_bounce_returns(forwarder, sink):
    a = forwarder
    send_from_origin(a, "fwd@example.test", "forward one")
    assert wait_for(lambda: len(sink.transactions) == 1, timeout=15), a.log()[-3000:]
    tx = sink.transactions[0]
    assert tx.rcpts == ["dest@sink.test"]
    assert tx.sender == srs0(a, ORIGIN, "example.test"), tx.sender
    assert b"Hello through the alias." in tx.data

    # The bounce (null sender) to that address goes back to carol.
    r = Raw(a.ports["mx"], source="127.0.0.7")
    assert r.cmd(b"EHLO mx.sink.test").startswith(b"250")
    assert r.cmd(b"MAIL FROM:<>").startswith(b"250")
    # A relay may change the case of the whole address: still valid.
    assert r.cmd(b"RCPT TO:<" + tx.sender.upper().encode() + b">").startswith(b"250")
    assert r.cmd(b"DATA").startswith(b"354")
    r.send(b"From: MAILER-DAEMON@sink.test\r\nSubject: bounce one\r\n\r\nUndeliverable.\r\n.\r\n")
    assert r.reply().startswith(b"250")
    r.cmd(b"QUIT")
    r.close()
    assert wait_for(lambda: len(sink.transactions) == 2, timeout=15), a.log()[-3000:]
    bounce = sink.transactions[1]
    assert bounce.sender == ""
    assert [x.lower() for x in bounce.rcpts] == [ORIGIN]
    assert bounce.subject() == "bounce one"


def test_our_own_bounce_of_a_forward_returns_to_the_original_sender(forwarder, sink):
    """The destination refuses the forwarded copy: A's delivery notice to
    the SRS sender goes straight back to carol."""
    a = forwarder
    sink.rcpt_reply = lambda addr, n: "550 5.1.1 no such user" if addr == "dest@sink.test" else None
    send_from_origin(a, "fwd@example.test", "refused forward")
    assert wait_for(lambda: len(sink.transactions) == 1, timeout=15), a.log()[-3000:]
    notice = sink.transactions[0]
    assert notice.sender == ""
    assert [x.lower() for x in notice.rcpts] == [ORIGIN]
    assert b"dest@sink.test" in notice.data


def test_mail_from_a_local_account_is_not_rewritten(forwarder, sink):
    """An authenticated user's mail to the alias keeps its sender: SRS is
    for mail that came from outside."""
    a = forwarder
    a.add_user("alice@example.test")
    s = a.submission_tls()
    s.login("alice@example.test", "Sturdy-Lantern-42")
    s.sendmail("alice@example.test", ["fwd@example.test"],
               "From: alice@example.test\r\nSubject: own\r\n\r\nmine\r\n")
    s.quit()
    assert wait_for(lambda: len(sink.transactions) == 1, timeout=15), a.log()[-3000:]
    assert sink.transactions[0].sender == "alice@example.test"


def refused(a, rcpt):
    r = Raw(a.ports["mx"], source="127.0.0.7")
    assert r.cmd(b"EHLO mx.sink.test").startswith(b"250")
    assert r.cmd(b"MAIL FROM:<>").startswith(b"250")
    reply = r.cmd(b"RCPT TO:<" + rcpt.encode() + b">")
    r.close()
    return reply.decode()


def test_forged_and_expired_srs_refused_at_rcpt(forwarder):
    a = forwarder
    good = srs0(a, ORIGIN, "example.test", days_ago=3)
    assert refused(a, good).startswith("250"), "an address made by libsrs2's rules is valid"
    # Bad hash: one character of the four changed.
    h = good[5:9]
    forged = good[:5] + ("A" if h[0] != "A" else "B") + good[6:]
    assert refused(a, forged) == f"550 5.1.1 <{forged}>: invalid SRS address"
    # Another destination under a valid hash.
    moved = good.replace("=carol@", "=mallory@")
    assert refused(a, moved).startswith("550 5.1.1")
    # Expired: 22 days (the limit is 21), and a stamp from the future.
    for days in (22, -2):
        old = srs0(a, ORIGIN, "example.test", days_ago=days)
        assert refused(a, old) == f"550 5.1.1 <{old}>: invalid SRS address", days
    assert re.search(r"smtp srs-rejected .* status=expired", a.log())
    assert re.search(r"smtp srs-rejected .* status=forged", a.log())
    # Someone else's SRS address is relaying, as for any other domain.
    assert refused(a, "SRS0=abcd=AA=x.test=y@elsewhere.test").startswith("554 5.7.1")


def test_forwarded_to_b_passes_spf_and_arc(dns):
    """A forwards carol's message to bob on B: B sees the SRS sender from
    A's IP and its SPF check passes; A sealed its verdict (carol's SPF pass
    at A) with ARC, and B (and dkimpy) verify the seal with A's DKIM key."""
    a, b = relay_pair(dns)
    try:
        publish_spf(dns)
        dns.add("b.test", "MX", "10 mx.b.test.")
        dns.add("mx.b.test", "A", "127.0.0.3")
        a.cli("alias", "add", "fwd@example.test", "bob@b.test", check=True)
        publish(dns, zone_records(a.cli("dkim", "dns", "example.test", check=True).stdout))
        a.start()
        b.start()
        send_from_origin(a, "fwd@example.test", "to b")
        assert wait_for(lambda: b.messages("bob@b.test"), timeout=15), a.log()[-3000:] + b.log()[-3000:]
        msg = b.messages("bob@b.test")[0].decode()
        expected = srs0(a, ORIGIN, "example.test")
        assert re.search(rf"smtp accepted .* from=\"?{re.escape(expected)}", b.log()), b.log()[-3000:]
        assert "Subject: to b" in msg
        results = re.search(r"^Authentication-Results: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*", msg, re.M)
        assert results, msg
        text = re.sub(r"\s+", " ", results.group(0))
        assert f'spf=pass smtp.mailfrom="{expected}"' in text, text  # quoted: "=" is a tspecial
        assert "arc=pass" in text, text
        # A's ARC set: instance 1, its domain, its verdict on carol's mail.
        seal = re.search(r"^ARC-Seal: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", msg, re.M)
        assert seal, msg
        seal_tags = re.sub(r"\s+", "", seal.group(1))
        assert "i=1;" in seal_tags and "cv=none" in seal_tags and "d=example.test" in seal_tags, seal_tags
        aar = re.search(r"^ARC-Authentication-Results: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", msg, re.M)
        assert aar and f"spf=pass smtp.mailfrom={ORIGIN}" in re.sub(r"\s+", " ", aar.group(1)), msg
        # An independent verifier agrees.
        cv, _, reason = dkim.arc_verify(msg.encode(), dnsfunc=dns_lookup(dns))
        assert cv == dkim.CV_Pass, reason
    finally:
        close_all(a, b)
