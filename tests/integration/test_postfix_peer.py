"""Debian's Postfix as a real peer, started by the test in its own
directory (`postfix -c DIR`: its own main.cf/master.cf, queue and data
directories under a temp dir, its smtpd on 127.0.0.6 only; the system's
/etc/postfix and /var/spool/postfix are not touched) and stopped at the end.

(a) Postfix is the remote MX for pf.test: Mailfort delivers to it over
    STARTTLS and the message lands in Postfix's Maildir.
(b) Postfix sends to us: a message injected with `sendmail -C DIR` is
    relayed (relayhost = [127.0.0.1]:<Mailfort's MX port>) into a Mailfort
    mailbox."""
import re
import subprocess

import pytest

from conftest import PASSWORD, Instance, close_all, wait_for
from postfix_peer import AVAILABLE, PF_HOST, Postfix

ALICE = "alice@example.test"

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="needs Debian's postfix and root")


@pytest.fixture
def peers(dns):
    a = Instance(dns)
    a.add_user(ALICE)
    pf = Postfix(a.ports["mx"])
    dns.add("pf.test", "MX", "10 mx.pf.test.")
    dns.add("mx.pf.test", "A", PF_HOST)
    a.set("delivery", "remote_port", str(pf.port))
    a.set("delivery", "source_address", '"127.0.0.2"')
    a.set("queue", "minimal_backoff_seconds", "1")
    pf.start()
    yield a, pf
    pf.stop()
    close_all(a)


def test_postfix_as_remote_mx_accepts_our_mail_over_tls(peers):
    a, pf = peers
    a.start()
    s = a.submission_tls()
    s.login(ALICE, PASSWORD)
    s.sendmail(ALICE, ["carol@pf.test"], f"From: {ALICE}\r\nTo: carol@pf.test\r\nSubject: to postfix\r\n\r\nhi\r\n")
    s.quit()
    msgs = wait_for(lambda: pf.messages())
    assert msgs, a.log()[-3000:] + pf.maillog()[-3000:]
    m = msgs[0].decode(errors="replace")
    assert "Subject: to postfix" in m
    assert re.search(r"Received: from mail\.example\.test[^;]*\(using TLSv1\.[23]", m, re.S), m
    assert re.search(r"status=sent detail=.*TLSv1\.[23]", a.log())


def test_postfix_as_sender_relays_to_our_mailbox(peers):
    a, pf = peers
    a.start()
    msg = "From: dave@pf.test\nTo: alice@example.test\nSubject: from postfix\n\nhello from postfix\n"
    r = subprocess.run(["/usr/sbin/sendmail", "-C", pf.conf, "-f", "dave@pf.test", ALICE], input=msg, text=True,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    got = wait_for(lambda: [m for m in a.messages(ALICE) if b"from postfix" in m], timeout=30)
    assert got, pf.maillog()[-3000:] + a.log()[-2000:]
    assert b"hello from postfix" in got[0]
    assert re.search(r"status=sent", pf.maillog())
