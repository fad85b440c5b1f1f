"""The built-in spam scorer end to end (issue 13): GTUBE, our Rspamd-format
headers on the MX, pre-labelled headers from outside removed, the Junk
folder at add_header_score, 554 at reject_score, submission never refused
by score, the authentication and DNSBL inputs, `mailfort spam check`, and
[spam] engine = "off".

Clients connect to the MX from 127.0.0.5 (not a trusted network).
"""
import email.utils
import imaplib
import json
import os
import re
import smtplib
import time

import pytest

from conftest import PASSWORD, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
CLIENT = "127.0.0.5"
JUNK = "Spam"  # [imap] junk_folder default
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(sender="ann@sender.test", rcpt=ALICE, subject="Lunch", body="See you at noon.", extra="",
            date=True, msgid=True, to=True):
    head = f"From: Ann <{sender}>\r\n"
    if to:
        head += f"To: <{rcpt}>\r\n"
    if subject is not None:
        head += f"Subject: {subject}\r\n"
    if date:
        head += f"Date: {email.utils.formatdate()}\r\n"
    if msgid:
        head += f"Message-ID: <{time.time_ns()}@client.example.org>\r\n"
    return (head + extra + "\r\n" + body + "\r\n").encode()


def faulty():
    """No Date (1.0), Message-ID (2.5), Subject (2.0) or To (2.0): 7.5 points."""
    return message(subject=None, date=False, msgid=False, to=False)


def send(inst, msg, mail_from="ann@sender.test", rcpt=ALICE, source=CLIENT):
    """DATA over the MX: (code, text) of the DATA reply."""
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="client.example.org",
                     source_address=(source, 0), timeout=30)
    try:
        s.ehlo()
        code, text = s.mail(mail_from)
        assert code == 250, text
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode()
    finally:
        s.close()


def imap_messages(inst, folder, user=ALICE):
    """The raw messages of a folder over IMAPS; None when it does not exist."""
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], ssl_context=inst.server_hostname_context())
    try:
        m.login(user, PASSWORD)
        typ, data = m.select(folder, readonly=True)
        if typ != "OK":
            return None
        out = []
        for i in range(1, int(data[0]) + 1):
            typ, d = m.fetch(str(i), "(BODY.PEEK[])")
            out.append(d[0][1])
        return out
    finally:
        m.logout()


def header_block(raw):
    return raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")


def fields(raw, name):
    """Values of every field `name` (any case) of the top-level header, unfolded."""
    unfolded = re.sub(r"\r\n[ \t]", " ", header_block(raw))
    return [line.split(":", 1)[1].strip() for line in unfolded.split("\r\n")
            if line.split(":", 1)[0].strip().lower() == name.lower()]


@pytest.fixture
def mx(instance):
    instance.add_user(ALICE)
    instance.start()
    return instance


# ---- over SMTP ----

def test_gtube_on_mx_is_refused_and_nothing_stored(mx):
    code, text = send(mx, message(body=f"test {GTUBE} test"))
    assert code == 554, text
    assert text.startswith("5.7.1 Gtube pattern"), text
    assert mx.messages(ALICE) == []
    assert not imap_messages(mx, JUNK)


def test_clean_message_carries_our_headers_below_threshold(mx):
    code, text = send(mx, message())
    assert code == 250, text
    (raw,) = mx.messages(ALICE)
    (result,) = fields(raw, "X-Spamd-Result")
    m = re.match(r"default: False \[(-?\d+\.\d\d) / 6\.00\]", result)
    assert m, result
    assert float(m.group(1)) < 6
    # The authentication verdict is an input: no SPF record, no DKIM, no DMARC.
    assert "R_SPF_NA(0.00)[" in result and "DMARC_NA(0.00)[" in result, result
    assert fields(raw, "X-Spamd-Bar") == ["/"]
    assert fields(raw, "X-Spam-Status") == [f"No, score={m.group(1)}"]
    assert fields(raw, "X-Spam-Flag") == [] and fields(raw, "X-Spam") == []
    # Symbols are folded one a line, in Rspamd's layout.
    assert re.search(r"X-Spamd-Result: default: False \[[-\d.]+ / 6\.00\];\r\n\t[A-Z_]+\(", header_block(raw))
    assert imap_messages(mx, "INBOX") and not imap_messages(mx, JUNK)


def test_pre_labelled_headers_from_outside_are_removed(mx):
    forged = ("X-Spam-Flag: NO\r\n"
              "x-spamd-result: default: False [-50.00 / 6.00];\r\n\tTRUST_ME(-50.00)[]\r\n"
              "X-SPAM-STATUS: No, score=-50.00\r\n"
              "X-Spam: No\r\n"
              "X-Spam-Level: \r\n"
              "X-Virus-Scanned: totally clean\r\n")
    # Faulty enough for the Junk folder, pretending otherwise.
    code, text = send(mx, faulty().replace(b"\r\n\r\n", b"\r\n" + forged.encode() + b"\r\n", 1))
    assert code == 250, text
    assert mx.messages(ALICE) == []
    (raw,) = imap_messages(mx, JUNK)
    (result,) = fields(raw, "X-Spamd-Result")
    assert "TRUST_ME" not in result and "default: True [7.50 / 6.00]" in result, result
    assert fields(raw, "X-Spam-Flag") == ["YES"]
    assert fields(raw, "X-Spam") == ["Yes"]
    assert fields(raw, "X-Spam-Status") == ["Yes, score=7.50"]
    assert fields(raw, "X-Virus-Scanned") == []  # no clamd here: none of ours either


def test_forged_yes_from_outside_does_not_junk_a_clean_message(mx):
    code, text = send(mx, message(extra="X-Spam-Flag: YES\r\nX-Spam: Yes\r\n"))
    assert code == 250, text
    (raw,) = mx.messages(ALICE)
    assert fields(raw, "X-Spam-Flag") == [] and fields(raw, "X-Spam") == []
    assert not imap_messages(mx, JUNK)


def test_over_add_header_score_lands_in_junk_with_flag(mx):
    code, text = send(mx, faulty())
    assert code == 250, text
    assert mx.messages(ALICE) == []
    (raw,) = imap_messages(mx, JUNK)
    (result,) = fields(raw, "X-Spamd-Result")
    for sym in ("MISSING_DATE(1.00)[]", "MISSING_MID(2.50)[]", "MISSING_SUBJECT(2.00)[]", "MISSING_TO(2.00)[]"):
        assert sym in result, result
    assert fields(raw, "X-Spam-Flag") == ["YES"] and fields(raw, "X-Spam") == ["Yes"]
    assert fields(raw, "X-Spamd-Bar") == ["+++++++"] and fields(raw, "X-Spam-Level") == ["*******"]


def test_lowered_add_header_score_from_config(instance):
    instance.set("spam", "add_header_score", "2.0")
    instance.add_user(ALICE)
    instance.start()
    code, text = send(instance, message(msgid=False))  # MISSING_MID alone: 2.5
    assert code == 250, text
    (raw,) = imap_messages(instance, JUNK)
    assert "default: True [2.50 / 2.00]" in fields(raw, "X-Spamd-Result")[0]


def test_reject_score_refuses(instance):
    instance.set("spam", "reject_score", "7.0")
    instance.add_user(ALICE)
    instance.start()
    code, text = send(instance, faulty())
    assert code == 554, text
    assert text.startswith("5.7.1 Spam message rejected"), text
    assert instance.messages(ALICE) == [] and not imap_messages(instance, JUNK)
    # Under it (3.5 points): delivered.
    code, text = send(instance, message(date=False, msgid=False))
    assert code == 250, text
    assert len(instance.messages(ALICE)) == 1


def test_spf_fail_and_dnsbl_listing_are_scored(instance, dns):
    dns.add("sender.test", "TXT", '"v=spf1 -all"')
    dns.add("5.0.0.127.bl.test", "A", "127.0.0.2")
    instance.set("inbound", "dnsbl", '["bl.test*1"]')
    instance.add_user(ALICE)
    instance.start()
    code, text = send(instance, message())
    assert code == 250, text
    (raw,) = instance.messages(ALICE)
    (result,) = fields(raw, "X-Spamd-Result")
    assert "R_SPF_FAIL(1.00)[" in result, result
    assert "RBL_BL_TEST(2.00)[127.0.0.2]" in result, result
    assert "[3.00 / 6.00]" in result, result


def test_submission_with_gtube_is_accepted_and_recorded(mx):
    mx.add_user(BOB)
    s = mx.submission_tls()
    s.login(ALICE, PASSWORD)
    mark = mx.log_mark()
    s.sendmail(ALICE, [BOB], message(sender=ALICE, rcpt=BOB, body=f"test {GTUBE}"))
    s.quit()
    (raw,) = mx.messages(BOB)
    assert GTUBE.encode() in raw
    assert fields(raw, "X-Spamd-Result") == [] and fields(raw, "X-Spam-Flag") == []
    assert "reason=spam" not in mx.log()[mark:]
    # Scored all the same, and recorded in the scan history (written off the
    # reply path: wait for it).
    def gtube_scan():
        r = mx.cli("spam", "history", "--json")
        assert r.returncode == 0, r.stderr
        return [rec for rec in json.loads(r.stdout) if "GTUBE" in [s["name"] for s in rec["symbols"]]]
    (rec,) = wait_for(gtube_scan, timeout=10)
    assert rec["action"] == "reject" and rec["listener"] == "submission" and rec["sender"] == ALICE


def test_engine_off_adds_nothing_and_refuses_nothing(instance):
    instance.set("spam", "engine", '"off"')
    instance.add_user(ALICE)
    instance.start()
    code, text = send(instance, message(body=GTUBE))
    assert code == 250, text
    code, text = send(instance, faulty())
    assert code == 250, text
    msgs = instance.messages(ALICE)
    assert len(msgs) == 2
    for raw in msgs:
        for name in ("X-Spamd-Result", "X-Spamd-Bar", "X-Spam-Level", "X-Spam-Flag", "X-Spam-Status"):
            assert fields(raw, name) == [], name
    r = instance.cli("spam", "check", "-", input=message().decode())
    assert r.returncode != 0 and "off" in r.stderr


# ---- mailfort spam check ----

def write(inst, name, data):
    path = os.path.join(inst.dir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_spam_check_text_and_json(instance, dns):
    instance.add_user(ALICE)
    # LF line ends, as files on disk have them.
    gtube = write(instance, "gtube.eml", message(body=GTUBE).replace(b"\r\n", b"\n"))
    r = instance.cli("spam", "check", gtube)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Action: reject"
    assert lines[1] == "Spam: true"
    assert re.match(r"Score: -?\d+\.\d\d / 6\.00$", lines[2]), lines
    assert "Symbol: GTUBE (0.00)" in lines

    bad = write(instance, "faulty.eml", faulty())
    r = instance.cli("spam", "check", "--json", bad)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["action"] == "add header" and j["is_spam"] is True
    assert j["score"] == 7.5 and j["required_score"] == 6.0
    names = [s["name"] for s in j["symbols"]]
    assert names == sorted(names)
    assert {"MISSING_DATE", "MISSING_MID", "MISSING_SUBJECT", "MISSING_TO"} <= set(names)
    assert all(set(s) == {"name", "score", "options"} for s in j["symbols"])

    # Standard input; our own domain in From without authentication.
    r = instance.cli("spam", "check", "--rcpt", ALICE, "-", input=message(sender=ALICE).decode())
    assert r.returncode == 0, r.stderr
    assert "Action: no action" in r.stdout
    assert "Symbol: FROM_LOCAL_UNAUTH (2.00)[example.test]" in r.stdout, r.stdout

    # With --ip the authentication runs as on the MX.
    dns.add("sender.test", "TXT", '"v=spf1 -all"')
    clean = write(instance, "clean.eml", message())
    r = instance.cli("spam", "check", "--ip", CLIENT, "--sender", "ann@sender.test", clean)
    assert r.returncode == 0, r.stderr
    assert "Symbol: R_SPF_FAIL (1.00)" in r.stdout, r.stdout
    r = instance.cli("spam", "check", clean)
    assert "R_SPF" not in r.stdout

    r = instance.cli("spam", "check", os.path.join(instance.dir, "no-such.eml"))
    assert r.returncode != 0 and "cannot read" in r.stderr
