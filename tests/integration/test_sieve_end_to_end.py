"""Sieve end to end across the protocols (issue 14):
- a script uploaded and activated over ManageSieve with sieve-connect files
  mail delivered over SMTP into the right folder with the right flags, as
  an IMAP client sees it;
- `redirect` reaches a second Mailfort instance with the envelope sender
  rewritten by SRS, so the second instance's SPF check of the forwarded
  copy passes."""
import re

import pytest

from conftest import close_all, relay_pair, wait_for
from test_managesieve import sieve_connect
from test_sieve_delivery import imap_folder, install_script, message, send

ALICE = "alice@example.test"
BOB = "bob@b.test"


def test_script_uploaded_over_managesieve_files_smtp_mail_with_flags(server, tmp_path):
    script = tmp_path / "bills.sieve"
    script.write_text('require ["fileinto", "imap4flags", "mailbox"];\r\n'
                      'if header :contains "subject" "invoice" {\r\n'
                      '  fileinto :create :flags ["\\\\Flagged", "$Invoice"] "Bills";\r\n'
                      '}\r\n')
    r = sieve_connect(server, "--upload", "--localsieve", str(script), "--remotesieve", "bills")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--activate", "--remotesieve", "bills")
    assert r.returncode == 0, r.stdout + r.stderr

    assert send(server, message(subject="Invoice 2026-117"))[0] == 250
    assert send(server, message(subject="Lunch on Friday"))[0] == 250

    bills = imap_folder(server, "Bills")
    assert bills is not None and len(bills) == 1, server.log()[-3000:]
    flags, raw = bills[0]
    assert "\\Flagged" in flags and "$Invoice" in flags, flags
    assert b"Subject: Invoice 2026-117" in raw
    inbox = imap_folder(server, "INBOX")
    assert len(inbox) == 1 and b"Subject: Lunch on Friday" in inbox[0][1]
    assert "\\Flagged" not in inbox[0][0]


@pytest.fixture
def pair(dns):
    """A (example.test, alice) redirects to B (b.test, bob) on 127.0.0.3."""
    dns.add("sender.test", "TXT", '"v=spf1 ip4:127.0.0.5 -all"')
    dns.add("example.test", "TXT", '"v=spf1 ip4:127.0.0.2 -all"')
    dns.add("b.test", "MX", "10 mx.b.test.")
    dns.add("mx.b.test", "A", "127.0.0.3")
    a, b = relay_pair(dns, a_user=ALICE, b_user=BOB)
    yield a, b
    close_all(a, b)


def test_redirect_reaches_a_second_instance_with_srs(pair):
    a, b = pair
    install_script(a, ALICE, f'redirect "{BOB}";\n')
    b.start()
    a.start()
    assert send(a, message(subject="Passed along"))[0] == 250
    assert a.wait_log(r"sieve delivered .*redirect:bob@b\.test", timeout=15), a.log()[-3000:]
    a.flush_queue_pass()

    def arrived():
        got = imap_folder(b, "INBOX", user=BOB)
        return got if got else None

    got = wait_for(arrived, timeout=30)
    assert got, a.log()[-3000:] + b.log()[-3000:]
    (flags, raw), = imap_folder(b, "INBOX", user=BOB)
    head = re.sub(r"\r\n[ \t]+", " ", raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace"))
    assert "Subject: Passed along" in head
    assert "X-Sieve-Redirected-From: <alice@example.test>" in head
    # B saw the SRS sender of A's domain, and A's SPF allows A's address.
    m = re.search(r'^Authentication-Results: mail\.example\.test; spf=pass smtp\.mailfrom="?(SRS0=[^\s;"]+'
                  r'=sender\.test=carol@example\.test)', head, re.M)
    assert m, head
    # Nothing stayed with alice: redirect cancels the implicit keep.
    assert imap_folder(a, "INBOX", user=ALICE) == []
