"""Outbound delivery with two real Mailfort instances on different loopback
addresses: A (submission, queue, delivery engine) relays to B (MX on
127.0.0.3), found through the fake DNS. TLS policies, retries, bounces and
the queue CLI."""

import hashlib
import re
import signal
import subprocess

import pytest

from conftest import PASSWORD, relay_pair, close_all, wait_for

ALICE = "alice@example.test"
BOB = "bob@b.test"


@pytest.fixture
def pair(dns):
    """A (sender side) and B (remote MX for b.test on 127.0.0.3)."""
    a, b = relay_pair(dns)
    dns.add("b.test", "MX", "10 mx.b.test.")
    dns.add("mx.b.test", "A", "127.0.0.3")
    yield a, b
    close_all(a, b)


def submit(a, rcpts, subject="hello", sender=ALICE):
    s = a.submission_tls()
    s.login(ALICE, PASSWORD)
    s.sendmail(sender, rcpts, f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n")
    s.quit()


def queue_text(a):
    return a.cli("queue", "list", check=True).stdout


def test_relay_to_remote_mx_over_tls(pair):
    a, b = pair
    a.start()
    b.start()
    submit(a, [BOB])
    msgs = wait_for(lambda: b.messages(BOB))
    assert msgs, a.log()[-3000:]
    m = msgs[0].decode()
    # B's Received header: from A's address, over TLS.
    assert re.search(r"Received: from mail\.example\.test \(\[127\.0\.0\.2\]\)[^;]*TLS", m, re.S), m
    assert "Subject: hello" in m
    assert wait_for(lambda: "b.test" not in queue_text(a))
    assert re.search(r"delivery id=\S+ to=bob@b\.test status=sent detail=.*TLSv1\.3", a.log())


def test_permanent_failure_bounces_to_sender(pair):
    a, b = pair
    a.start()
    b.start()
    submit(a, ["nobody@b.test"], subject="lost")
    bounce = wait_for(lambda: [m for m in a.messages(ALICE) if b"multipart/report" in m])
    assert bounce, a.log()[-3000:]
    text = bounce[0].decode()
    assert "Final-Recipient: rfc822; nobody@b.test" in text
    assert "Status: 5.1.1" in text and "Action: failed" in text
    assert "Subject: lost" in text  # original headers returned
    assert wait_for(lambda: "nobody@b.test" not in queue_text(a))


def test_unreachable_defers_then_flush_delivers(pair):
    a, b = pair
    a.start()
    submit(a, [BOB], subject="later")
    assert wait_for(lambda: "connect to mx.b.test" in queue_text(a)), queue_text(a)
    out = queue_text(a)
    assert "pending 1" in out
    b.start()
    a.cli("queue", "flush", check=True)
    assert wait_for(lambda: b.messages(BOB)), queue_text(a)
    assert wait_for(lambda: "b.test" not in queue_text(a))


def test_encrypt_policy_never_falls_back_to_plaintext(pair):
    a, b = pair
    # B's MX without STARTTLS.
    text = open(b.config).read()
    text = re.sub(r'(name = "mx"\nprotocol = "smtp"\naddress = "[^"]+"\ntls = )"starttls"', r'\1"none"', text)
    b._write(text)
    a.cli("tls-policy", "set", "b.test", "encrypt", check=True)
    a.start()
    b.start()
    submit(a, [BOB])
    assert wait_for(lambda: "does not offer STARTTLS" in queue_text(a)), queue_text(a) + b.log()[-2000:]
    assert not b.messages(BOB)


def test_fingerprint_policy(pair):
    a, b = pair
    der = subprocess.run(["openssl", "x509", "-in", b.cert, "-outform", "DER"], capture_output=True, check=True).stdout
    good = hashlib.sha256(der).hexdigest()
    a.cli("tls-policy", "set", "b.test", "fingerprint", "match=" + "00" * 32, check=True)
    a.start()
    b.start()
    submit(a, [BOB], subject="fp1")
    assert wait_for(lambda: "fingerprint does not match" in queue_text(a)), queue_text(a)
    assert not b.messages(BOB)
    a.cli("tls-policy", "set", "b.test", "fingerprint", "match=" + good, check=True)
    a.cli("queue", "flush", check=True)
    assert wait_for(lambda: b.messages(BOB)), queue_text(a)


def test_verify_policy_with_ca_file(pair):
    a, b = pair
    a.set("delivery", "ca_file", f'"{b.cert}"')  # B's self-signed cert as the CA
    a.cli("tls-policy", "set", "b.test", "verify", "match=wrong.name.test", check=True)
    a.start()
    b.start()
    submit(a, [BOB], subject="v1")
    assert wait_for(lambda: "TLS policy verify not met" in queue_text(a)), queue_text(a)
    assert not b.messages(BOB)
    a.cli("tls-policy", "set", "b.test", "verify", "match=mail.example.test", check=True)
    a.cli("queue", "flush", check=True)
    assert wait_for(lambda: b.messages(BOB)), queue_text(a)


def test_null_mx_and_missing_domain_bounce(pair, dns):
    a, b = pair
    dns.add("nullmx.test", "MX", "0 .")
    a.start()
    submit(a, ["x@nullmx.test", "y@nonexistent-domain.test"], subject="nowhere")
    bounce = wait_for(lambda: [m for m in a.messages(ALICE) if b"multipart/report" in m])
    assert bounce, queue_text(a)
    text = bounce[0].decode()
    assert "Status: 5.1.10" in text and "Status: 5.1.2" in text


def test_queue_hold_release_delete(pair):
    a, b = pair
    a.start()
    submit(a, [BOB], subject="held")
    assert wait_for(lambda: "pending 1" in queue_text(a))
    qid = re.search(r"^(\S+)\s+active", queue_text(a), re.M).group(1)
    a.cli("queue", "hold", qid, check=True)
    assert re.search(rf"^{qid}\s+held", queue_text(a), re.M)
    b.start()
    # Flushed, the held message is passed over: once the engine's pass over
    # the flushed queue is complete, it is still held and B has nothing.
    a.flush_queue_pass()
    assert not b.messages(BOB)
    assert re.search(rf"^{qid}\s+held", queue_text(a), re.M)
    released = a.log_mark()
    a.cli("queue", "release", qid, check=True)
    a.cli("queue", "flush", check=True)
    assert wait_for(lambda: b.messages(BOB))
    # Sent once, after the release (before it: only the attempt while B was down).
    assert re.findall(rf"delivery id={qid} to=\S+ status=(\w+)", a.log()[:released]) == ["deferred"]
    assert a.wait_log(rf"delivery id={qid} to={re.escape(BOB)} status=sent", since=released)
    # B away again so the next message stays queued (delivery starts at
    # once now, there is no poll interval to race against).
    b.stop()
    submit(a, ["z@b.test"], subject="del")
    assert wait_for(lambda: "z@b.test pending 1" in queue_text(a))
    qid2 = re.search(r"^(\S+)\s+active", queue_text(a), re.M)
    if qid2:
        a.cli("queue", "delete", qid2.group(1), check=True)
    assert "z@b.test" not in queue_text(a)


def test_delivery_disabled_keeps_the_queue_until_reload(pair):
    a, b = pair
    a.set("delivery", "enabled", "false")
    a.start()
    b.start()
    submit(a, [BOB], subject="paused")
    # Not even a flush starts it: after the engine's pass over the flushed
    # queue the message is still unattempted.
    a.flush_queue_pass()
    assert "bob@b.test pending 0" in queue_text(a)  # never attempted
    assert not b.messages(BOB)
    enabled = a.log_mark()
    a.set("delivery", "enabled", "true")
    a.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: b.messages(BOB)), queue_text(a)
    assert a.wait_log(r"delivery id=\S+ to=bob@b\.test status=sent", since=enabled)
    assert not re.search(r"delivery id=\S+ to=bob@b\.test status=", a.log()[:enabled])  # only after the reload
