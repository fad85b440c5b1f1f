"""Q7 (issue 5): outgoing sending limits per mailbox, domain and server."""
import signal
import smtplib

import pytest

from conftest import PASSWORD, add_users

# No From: submission fills it in from the envelope sender, which is the
# login's (a From naming someone else is refused, test_hostile_submission.py).
MSG = b"To: y@example.test\r\nSubject: limits\r\n\r\nhello\r\n"


@pytest.fixture
def limited(instance):
    # Submitted mail stays in the queue: these tests count messages, they do
    # not deliver them.
    instance.set("delivery", "enabled", "false")
    instance.cli("domain", "add", "other.test", check=True)
    add_users([(instance, a) for a in ("alice@example.test", "bob@example.test", "carol@other.test")])
    return instance


def login(inst, user):
    s = inst.submission_tls()
    s.login(user, PASSWORD)
    return s


def send(s, sender, rcpts=("friend@remote.example",)):
    assert s.sendmail(sender, list(rcpts), MSG) == {}


def refused_at_mail(s, sender):
    """The 450 4.7.1 reply to MAIL FROM, as smtplib reports it."""
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        s.sendmail(sender, ["friend@remote.example"], MSG)
    assert e.value.smtp_code == 450, e.value
    text = e.value.smtp_error.decode()
    assert text.startswith("4.7.1 Sending limit reached"), text
    return text


def queued(inst):
    return inst.cli("queue", "list", check=True).stdout.count("friend@remote.example")


def test_mailbox_limit_overrides_and_log_line(limited):
    limited.set("limits", "send_per_hour_mailbox", "3")
    limited.start()
    s = login(limited, "alice@example.test")
    for _ in range(3):  # several recipients still count as one message
        send(s, "alice@example.test", ["friend@remote.example", "bob@example.test"])
    text = refused_at_mail(s, "alice@example.test")
    assert "alice@example.test may send 3 messages per hour" in text
    s.quit()
    assert limited.wait_log(r"smtp send-limit session=\d+ ip=127\.0\.0\.1 user=\"?alice@example\.test\"? "
                            r"level=mailbox limit=3")
    assert "Sturdy" not in limited.log()

    # Another user of the same domain has a quota of their own.
    s = login(limited, "bob@example.test")
    send(s, "bob@example.test")
    s.quit()

    # A per-mailbox override in the directory reaches the running server
    # (read at the next session).
    limited.cli("user", "limit", "alice@example.test", "5", check=True)
    listing = limited.cli("user", "list", "example.test", check=True).stdout
    assert any(l.startswith("alice@example.test") and l.rstrip().endswith(" 5") for l in listing.splitlines())
    s = login(limited, "alice@example.test")
    send(s, "alice@example.test")
    send(s, "alice@example.test")
    assert "may send 5 messages" in refused_at_mail(s, "alice@example.test")
    s.quit()
    limited.cli("user", "limit", "alice@example.test", "default", check=True)
    assert limited.cli("user", "limit", "ghost@example.test", "5").returncode != 0
    assert limited.cli("user", "limit", "alice@example.test", "many").returncode != 0
    s = login(limited, "alice@example.test")
    assert "may send 3 messages" in refused_at_mail(s, "alice@example.test")
    s.quit()
    assert queued(limited) == 6  # alice 5 + bob 1


def test_aborted_transactions_do_not_count(limited):
    limited.set("limits", "send_per_hour_mailbox", "2")
    limited.set("smtp", "max_message_size", "2048")
    limited.start()
    s = login(limited, "alice@example.test")
    for _ in range(5):  # RSET after MAIL/RCPT
        assert s.mail("alice@example.test")[0] == 250
        assert s.rcpt("friend@remote.example")[0] == 250
        assert s.rset()[0] == 250
    for _ in range(3):  # DATA refused at its end: too big (no SIZE announced)
        assert s.mail("alice@example.test")[0] == 250
        assert s.rcpt("friend@remote.example")[0] == 250
        assert s.data(MSG + b"x" * 4096 + b"\r\n")[0] == 552
    for _ in range(3):  # no valid recipient
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("alice@example.test", ["nobody@example.test"], MSG)
    s.quit()
    for _ in range(3):  # connection lost in the middle of a transaction
        s = login(limited, "alice@example.test")
        assert s.mail("alice@example.test")[0] == 250
        s.close()
    s = login(limited, "alice@example.test")
    s.send(b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<friend@remote.example>\r\nRSET\r\n" * 4)
    assert [s.getreply()[0] for _ in range(12)] == [250] * 12
    # Pipelining cannot run ahead of the count: three whole BDAT
    # transactions in one packet, the third refused at its MAIL FROM.
    one = (b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<friend@remote.example>\r\n"
           b"BDAT %d LAST\r\n%s" % (len(MSG), MSG))
    s.send(one * 3)
    codes = [s.getreply()[0] for _ in range(9)]
    assert codes[:6] == [250] * 6 and codes[6] == 450 and codes[7:] == [503, 503], codes
    refused_at_mail(s, "alice@example.test")
    s.quit()
    assert queued(limited) == 2


def test_domain_and_server_limits_trusted_relay_and_inbound(limited):
    limited.set("limits", "send_per_hour_mailbox", "0")
    limited.set("limits", "send_per_hour_domain", "3")
    limited.set("limits", "send_per_hour_server", "7")
    limited.set("smtp", "trusted_networks", '["127.0.0.9/32"]')
    limited.start()
    a = login(limited, "alice@example.test")
    send(a, "alice@example.test")
    send(a, "alice@example.test")
    b = login(limited, "bob@example.test")
    send(b, "bob@example.test")
    # The domain limit caps both users together.
    assert "domain example.test may send 3 messages" in refused_at_mail(b, "bob@example.test")
    assert "domain example.test" in refused_at_mail(a, "alice@example.test")
    # A per-domain override raises it.
    limited.cli("domain", "limit", "example.test", "4", check=True)
    domains = limited.cli("domain", "list", check=True).stdout.splitlines()
    assert any(l.startswith("example.test ") and l.rstrip().endswith(" 4") for l in domains)
    b.quit()
    b = login(limited, "bob@example.test")
    send(b, "bob@example.test")
    assert "may send 4 messages" in refused_at_mail(b, "bob@example.test")
    b.quit()
    a.quit()
    # Another domain is not affected by example.test's limit.
    c = login(limited, "carol@other.test")
    send(c, "carol@other.test")
    # Relaying for a trusted network counts against the server limit only:
    # its sender may be an example.test address whose domain is full.
    t = limited.smtp("mx", source="127.0.0.9")
    send(t, "app@example.test")
    send(t, "alice@example.test")  # server now at 7
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        t.sendmail("app@example.test", ["friend@remote.example"], MSG)
    assert e.value.smtp_code == 450 and b"this server sends at most 7" in e.value.smtp_error
    t.quit()
    assert "this server sends at most 7 messages" in refused_at_mail(c, "carol@other.test")
    # Inbound mail for local users is not limited.
    m = limited.smtp("mx")
    for _ in range(3):
        # (with a From header: DMARC refuses inbound mail without one)
        assert m.sendmail("someone@example.org", ["alice@example.test"], b"From: someone@example.org\r\n" + MSG) == {}
    m.quit()
    assert len(limited.messages("alice@example.test")) == 3
    assert limited.wait_log(r"level=server limit=7")
    assert limited.wait_log(r"level=domain limit=3")

    # SIGHUP raising the server limit applies without a restart, also to a
    # session that was already open.
    limited.set("limits", "send_per_hour_server", "100")
    limited.proc.send_signal(signal.SIGHUP)
    assert limited.wait_log(r"reload done")
    send(c, "carol@other.test")
    c.quit()
    assert queued(limited) == 8


def test_sighup_raises_the_mailbox_limit(limited):
    limited.set("limits", "send_per_hour_mailbox", "1")
    limited.start()
    s = login(limited, "alice@example.test")
    send(s, "alice@example.test")
    refused_at_mail(s, "alice@example.test")
    limited.set("limits", "send_per_hour_mailbox", "2")
    limited.proc.send_signal(signal.SIGHUP)
    assert limited.wait_log(r"reload done")
    send(s, "alice@example.test")
    refused_at_mail(s, "alice@example.test")
    s.quit()
    s = limited.smtps()  # SMTPS counts the same account
    s.login("alice@example.test", PASSWORD)
    refused_at_mail(s, "alice@example.test")
    s.quit()


def test_recipients_per_hour_per_mailbox(limited):
    limited.set("limits", "send_recipients_per_hour_mailbox", "3")
    limited.start()
    s = login(limited, "alice@example.test")
    for _ in range(3):  # recipients of an abandoned transaction do not count
        assert s.mail("alice@example.test")[0] == 250
        assert s.rcpt("r1@remote.example")[0] == 250
        assert s.rcpt("r2@remote.example")[0] == 250
        assert s.rset()[0] == 250
    send(s, "alice@example.test", ["r1@remote.example", "bob@example.test"])
    refused = s.sendmail("alice@example.test", ["r3@remote.example", "r4@remote.example"], MSG)
    assert list(refused) == ["r4@remote.example"] and refused["r4@remote.example"][0] == 450
    assert b"4.7.1 Recipient limit reached" in refused["r4@remote.example"][1]
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        s.sendmail("alice@example.test", ["r5@remote.example"], MSG)
    s.quit()
    # Other accounts have their own count.
    s = login(limited, "bob@example.test")
    send(s, "bob@example.test", ["r1@remote.example", "r2@remote.example", "r3@remote.example"])
    s.quit()
    assert limited.wait_log(r"level=mailbox-recipients limit=3")
