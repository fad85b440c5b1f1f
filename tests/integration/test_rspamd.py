"""Issue 13: Rspamd as the spam engine ([spam] engine = "rspamd").

Debian's real rspamd (rspamd_peer.py: private config, free loopback ports,
its own redis-server, DNS only through this file's fake DNS) started once
for the file; each test gets its own Mailfort instance pointed at it.
"""
import imaplib
import json
import os
import re
import smtplib
import time

import pytest

from conftest import PASSWORD, Instance, close_all, run_as_owner, wait_for
from dnsserver import FakeDNS
from ports import free_port
from rspamd_peer import AVAILABLE, Rspamd

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="rspamd and redis-server are not installed")

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SENDER_DOMAIN = "sender.example.org"


def message(subject, body, sender=f"news@{SENDER_DOMAIN}", to="bob@example.test", msgid=None):
    msgid = msgid or f"<{time.time_ns()}@{SENDER_DOMAIN}>"
    return (f"From: Sender <{sender}>\r\nTo: Bob <{to}>\r\nSubject: {subject}\r\n"
            f"Date: Fri, 04 Dec 2026 01:00:00 +0000\r\nMessage-ID: {msgid}\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.fixture(scope="module")
def module_dns():
    d = FakeDNS(negative_ttl=300).start()  # Rspamd's resolver wants the SOA in denials
    # The sender's domain resolves and has SPF, so neither Rspamd nor
    # Mailfort waits on an unanswered name.
    d.add(SENDER_DOMAIN, "A", "127.0.0.1")
    d.add(SENDER_DOMAIN, "MX", f"10 {SENDER_DOMAIN}.")
    d.add(SENDER_DOMAIN, "TXT", '"v=spf1 ip4:127.0.0.1 -all"')
    d.add("1.0.0.127.in-addr.arpa", "PTR", "client.example.org.")
    d.add("client.example.org", "A", "127.0.0.1")
    yield d
    d.stop()


@pytest.fixture(scope="module")
def rspamd(module_dns):
    r = Rspamd(module_dns.address)
    try:
        r.start()
        yield r
    finally:
        r.cleanup()


@pytest.fixture
def mf(module_dns, rspamd, request):
    """A Mailfort instance with engine = "rspamd" (not started), users bob and alice."""
    inst = Instance(module_dns)
    inst.set("delivery", "enabled", "false")
    inst.set("spam", "engine", '"rspamd"')
    inst.set("spam", "rspamd_url", f'"{rspamd.normal_url}"')
    inst.set("spam", "rspamd_controller_url", f'"{rspamd.controller_url}"')
    inst.set("spam", "rspamd_password_file", f'"{rspamd.password_file}"')
    inst.add_user("bob@example.test")
    inst.add_user("alice@example.test")
    yield inst
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        print(f"\n--- mailfort log ({inst.dir}) ---\n{inst.log()[-4000:]}\n--- rspamd log ---\n"
              f"{rspamd.log()[-3000:]}")
        if inst.proc:
            inst.stop(expect_clean=False)
    else:
        close_all(inst)


def all_messages(inst, address):
    """Every stored message of the mailbox, by folder ("" = INBOX)."""
    out = {}
    root = inst.maildir(address)
    for dirpath, dirs, files in os.walk(root):
        if os.path.basename(dirpath) not in ("new", "cur"):
            continue
        folder = os.path.relpath(os.path.dirname(dirpath), root)
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                out.setdefault("" if folder == "." else folder, []).append(f.read())
    return out


def header_block(msg):
    return msg.split(b"\r\n\r\n", 1)[0].decode(errors="replace")


def test_gtube_is_rejected_with_rspamds_reason(mf, rspamd):
    mf.start()
    s = mf.smtp("mx")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail(f"news@{SENDER_DOMAIN}", ["bob@example.test"], message("test", GTUBE))
    s.quit()
    assert e.value.smtp_code == 554
    # Rspamd's own reject text (messages.smtp_message), not our default.
    assert e.value.smtp_error.decode() == "5.7.1 Gtube pattern"
    assert all_messages(mf, "bob@example.test") == {}
    assert mf.wait_log(r"smtp filtered .* reason=spam reply=554")
    # Rspamd saw the envelope we sent it as request headers.
    assert wait_for(lambda: re.search(r"ip: 127\.0\.0\.1, from: <news@sender\.example\.org>.*\(reject\)"
                                      r".*mime_rcpt: <bob@example\.test>", rspamd.log()), timeout=5)


def test_clean_message_gets_rspamds_score_in_our_headers(mf, rspamd):
    mf.start()
    s = mf.smtp("mx")
    body = "Hello Bob,\r\n\r\nthe minutes of Tuesday's meeting are below. See you next week.\r\n"
    s.sendmail(f"news@{SENDER_DOMAIN}", ["bob@example.test"], message("Meeting minutes", body))
    s.quit()
    (m,) = all_messages(mf, "bob@example.test")[""]
    head = header_block(m)
    result = re.search(r"^X-Spamd-Result: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M)
    assert result, head
    text = result.group(1)
    # Symbols only Rspamd's rules produce: the score is Rspamd's, and it
    # saw the envelope (FROM_EQ_ENVFROM) and the recipients (RCPT_COUNT_ONE).
    assert "RCPT_COUNT_ONE" in text and "FROM_EQ_ENVFROM" in text and "MIME_GOOD" in text, text
    assert re.search(r"^X-Spamd-Bar: ", head, re.M)
    assert "X-Spam-Flag: YES" not in head
    assert mf.wait_log(r"spam-scan-failed", timeout=0.5) is None


def test_outside_spam_headers_do_not_survive(mf, rspamd):
    mf.start()
    s = mf.smtp("mx")
    forged = message("Hello", "Just a normal note about lunch tomorrow at noon.\r\n").replace(
        b"MIME-Version", b"X-Spamd-Result: default: False [-100.00 / 15.00]\r\nX-Spam-Flag: NO\r\nMIME-Version")
    s.sendmail(f"news@{SENDER_DOMAIN}", ["bob@example.test"], forged)
    s.quit()
    (m,) = all_messages(mf, "bob@example.test")[""]
    head = header_block(m)
    assert "-100.00" not in head and "X-Spam-Flag: NO" not in head
    assert len(re.findall(r"^X-Spamd-Result:", head, re.M)) == 1


def test_rspamd_unreachable_delivers_unscored_and_logs(mf, rspamd):
    dead = free_port()  # reserved for this process, nothing listens there
    mf.set("spam", "rspamd_url", f'"http://127.0.0.1:{dead}"')
    mf.start()
    s = mf.smtp("mx")
    s.sendmail(f"news@{SENDER_DOMAIN}", ["bob@example.test"], message("test", GTUBE))
    s.quit()
    (m,) = all_messages(mf, "bob@example.test")[""]
    assert "X-Spamd-Result" not in header_block(m)
    assert mf.wait_log(r"smtp spam-scan-failed session=\d+ id=\S+ engine=rspamd error=\"rspamd unreachable: ")


def test_submission_is_scored_but_not_rejected(mf, rspamd):
    mf.start()
    s = mf.submission_tls()
    s.login("alice@example.test", PASSWORD)
    s.sendmail("alice@example.test", ["bob@example.test"],
               message("test", GTUBE, sender="alice@example.test"))
    s.quit()
    (m,) = all_messages(mf, "bob@example.test")[""]
    assert "X-Spamd-Result" not in header_block(m)  # no spam headers on submission
    # Rspamd scored it and knew the authenticated user (the User header).
    assert wait_for(lambda: re.search(r"user: alice@example\.test.*\(reject\)", rspamd.log()), timeout=5)


SPAMMY = ("Congratulations winner! You have been selected to receive a guaranteed cash prize of "
          "five million dollars. Claim your lottery winnings today by sending your bank account "
          "details and a small processing fee to our claims agent. This offer expires soon, act now "
          "and do not tell anyone about your good fortune.")


def has_spam_learn_command(inst):
    r = inst.cli("spam", "--help")
    return re.search(r"^\s+learn\b", r.stdout, re.M) is not None


def test_spam_learn_cli_reaches_the_controller(mf, rspamd):
    """`spam learn --spam FILE` with engine = "rspamd" posts to the
    controller's /learnspam with the password: Rspamd's count goes up."""
    if not has_spam_learn_command(mf):
        pytest.skip("`spam learn` is not on this branch yet")
    f = os.path.join(mf.dir, "spam.eml")  # the CLI reads it after dropping root to the server's user
    with open(f, "wb") as out:
        out.write(message("You won", SPAMMY, msgid="<cli-learn-1@sender.example.org>"))
    run_as_owner(f)
    before = rspamd.bayes_learns()["BAYES_SPAM"]
    r = mf.cli("spam", "learn", "--spam", f)
    assert r.returncode == 0, r.stderr
    assert rspamd.bayes_learns()["BAYES_SPAM"] == before + 1
    assert rspamd.password not in r.stdout + r.stderr + mf.log()


def test_move_into_junk_learns_spam_at_rspamd(mf, rspamd):
    """The issue's check: a move into Junk reaches Rspamd's controller
    (its Bayes learn count goes up)."""
    mf.start()
    before = rspamd.bayes_learns()["BAYES_SPAM"]
    m = imaplib.IMAP4("127.0.0.1", mf.ports["imap"])
    m.starttls(ssl_context=mf.server_hostname_context())
    m.login("bob@example.test", PASSWORD)
    m.create("Junk")
    # APPEND (which learns nothing) puts it in INBOX whatever Rspamd thinks
    # of it; over SMTP it might already be filed into Junk.
    # Its own body: Rspamd counts a body it learned before (spam learn) once.
    body = SPAMMY + "\r\nReference code 7731-imap-move, claim within 24 hours.\r\n"
    typ, _ = m.append("INBOX", None, None, message("You won", body, msgid="<imap-learn-1@sender.example.org>"))
    assert typ == "OK"
    m.select("INBOX")
    typ, _ = m.uid("MOVE", "1:*", "Junk")
    assert typ == "OK"
    m.logout()
    assert wait_for(lambda: rspamd.bayes_learns()["BAYES_SPAM"] == before + 1, timeout=10), rspamd.bayes_learns()
    assert rspamd.password not in mf.log()


def test_spam_check_cli_scores_with_rspamd(mf, rspamd):
    """`spam check` uses the configured engine: Rspamd's verdict and symbols."""
    f = os.path.join(mf.dir, "gtube.eml")
    with open(f, "wb") as out:
        out.write(message("test", GTUBE))
    run_as_owner(f)
    r = mf.cli("spam", "check", "--json", "--ip", "127.0.0.1", "--sender", f"news@{SENDER_DOMAIN}",
               "--rcpt", "bob@example.test", f)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["engine"] == "rspamd" and j["action"] == "reject" and j["reject_reason"] == "Gtube pattern"
    assert [s["name"] for s in j["symbols"]] == ["GTUBE"]
