"""Sieve at local delivery (issue 14) end to end: a user's active script
(installed as ScriptStore lays it out: data/mailboxes/<domain>/<user>/sieve/
<name>.sieve and `active`) decides where mail sent over SMTP lands, checked
over IMAP; redirect, vacation replies and reject MDNs leave through the
queue to a loopback sink (the fake DNS routes the remote domains to it);
the global spam script `mailfort init` writes files spam into the Junk
folder."""
import email
import imaplib
import os
import re
import signal
import smtplib
import time

import pytest

from conftest import PASSWORD, Instance, close_all, run_as_owner, wait_for
from smtpsink import SmtpSink

ALICE = "alice@example.test"
BOB = "bob@example.test"
SINK_HOST = "127.0.0.6"
CLIENT = "127.0.0.5"
JUNK = "Spam"  # [imap] junk_folder default


def install_script(inst, user, text, name="main"):
    local, domain = user.split("@")
    d = os.path.join(inst.dir, "data", "mailboxes", domain, local, "sieve")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".sieve"), "w") as f:
        f.write(text)
    with open(os.path.join(d, "active"), "w") as f:
        f.write(name)
    for p in (os.path.join(inst.dir, "data", "mailboxes", domain), os.path.join(inst.dir, "data", "mailboxes",
                                                                                  domain, local), d,
              os.path.join(d, name + ".sieve"), os.path.join(d, "active")):
        run_as_owner(p)


def message(sender="carol@sender.test", to=ALICE, subject="Lunch", body="See you at noon.", extra=""):
    return (f"From: Carol <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{time.time_ns()}@sender.test>\r\n"
            f"{extra}\r\n{body}\r\n").encode()


def send(inst, msg, mail_from="carol@sender.test", rcpts=(ALICE,)):
    """(code, text) of the DATA reply over the MX."""
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="mx.sender.test",
                     source_address=(CLIENT, 0), timeout=30)
    try:
        s.ehlo()
        code, text = s.mail(mail_from)
        assert code == 250, text
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode()
    finally:
        s.close()


def imap_folder(inst, folder, user=ALICE):
    """[(flags, raw)] of a folder over IMAPS; None when it does not exist."""
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], ssl_context=inst.server_hostname_context())
    try:
        m.login(user, PASSWORD)
        typ, data = m.select(f'"{folder}"', readonly=True)
        if typ != "OK":
            return None
        out = []
        for i in range(1, int(data[0]) + 1):
            typ, d = m.fetch(str(i), "(FLAGS BODY.PEEK[])")
            flags = re.search(rb"FLAGS \(([^)]*)\)", d[0][0]).group(1).decode().split()
            out.append((flags, d[0][1]))
        return out
    finally:
        m.logout()


@pytest.fixture
def sink():
    s = SmtpSink(SINK_HOST).start()
    yield s
    s.stop()


@pytest.fixture
def mta(dns, sink, request):
    """An instance with alice and bob; sender.test's and far.test's MX is the sink."""
    for d in ("sender.test", "far.test"):
        dns.add(d, "MX", "10 mx.sink.test.")
    dns.add("mx.sink.test", "A", SINK_HOST)
    dns.add("sender.test", "TXT", f'"v=spf1 ip4:{CLIENT} -all"')
    inst = Instance(dns)
    inst.set("delivery", "remote_port", str(sink.port))
    inst.set("delivery", "source_address", '"127.0.0.2"')
    inst.set("queue", "minimal_backoff_seconds", "3600")
    inst.add_user(ALICE)
    inst.add_user(BOB)
    yield inst
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        import sys
        sys.stderr.write(f"\n--- mailfort log ({inst.dir}) ---\n{inst.log()[-4000:]}\n")
    close_all(inst)


def test_init_writes_the_global_spam_script(instance):
    path = os.path.join(instance.dir, "data", "sieve", "spam-global.sieve")
    text = open(path).read()
    assert 'fileinto "Spam"' in text and "X-Spam-Flag" in text
    assert os.path.isdir(os.path.join(instance.dir, "data", "sieve", "global"))
    assert 'before = ["data/sieve/spam-global.sieve"]' in open(instance.config).read()
    assert instance.cli("check").returncode == 0


def test_fileinto_with_flags_and_create(mta):
    install_script(mta, ALICE, 'require ["fileinto", "imap4flags", "mailbox"];\n'
                               'if header :contains "Subject" "report" {\n'
                               '  fileinto :flags ["\\\\Seen", "$Report"] :create "Reports";\n'
                               '}\n')
    mta.start()
    assert send(mta, message(subject="weekly report"))[0] == 250
    assert send(mta, message(subject="hello"))[0] == 250
    reports = imap_folder(mta, "Reports")
    assert reports is not None and len(reports) == 1, mta.log()[-3000:]
    flags, raw = reports[0]
    assert "\\Seen" in flags and "$Report" in flags
    assert b"weekly report" in raw
    inbox = imap_folder(mta, "INBOX")
    assert [b"hello" in r for _, r in inbox] == [True]
    assert mta.wait_log(r"sieve delivered session=\d+ id=\w+ mailbox=\"?alice@example.test\"? "
                        r"actions=\"?fileinto:Reports")


def test_fileinto_missing_folder_lands_in_inbox(mta):
    install_script(mta, ALICE, 'require "fileinto";\nfileinto "Nowhere";\n')
    mta.start()
    assert send(mta, message(subject="lost?"))[0] == 250
    assert imap_folder(mta, "Nowhere") is None
    inbox = imap_folder(mta, "INBOX")
    assert len(inbox) == 1 and b"lost?" in inbox[0][1]
    assert mta.wait_log(r"sieve fileinto-missing .*folder=\"?Nowhere")


def test_discard_stores_nothing(mta):
    install_script(mta, ALICE, 'if header :is "Subject" "drop me" { discard; }\n')
    mta.start()
    assert send(mta, message(subject="drop me"))[0] == 250
    assert send(mta, message(subject="keep me"))[0] == 250
    inbox = imap_folder(mta, "INBOX")
    assert [b"keep me" in r for _, r in inbox] == [True]


def test_reject_single_recipient_at_smtp_time(mta, sink):
    install_script(mta, ALICE, 'require "reject";\nreject "I do not want this";\n')
    mta.start()
    code, text = send(mta, message(subject="unwanted"))
    assert code == 550 and "5.7.1" in text and "I do not want this" in text
    assert imap_folder(mta, "INBOX") == []
    mta.flush_queue_pass()
    assert sink.transactions == []


def test_reject_with_two_recipients_sends_an_mdn(mta, sink):
    install_script(mta, ALICE, 'require "reject";\nreject "Not here";\n')
    mta.start()
    code, _ = send(mta, message(subject="to both"), rcpts=(ALICE, BOB))
    assert code == 250
    assert imap_folder(mta, "INBOX") == []
    assert len(imap_folder(mta, "INBOX", user=BOB)) == 1
    assert wait_for(lambda: len(sink.transactions) == 1, timeout=15), mta.log()[-3000:]
    mdn = sink.transactions[0]
    assert mdn.sender == "" and mdn.rcpts == ["carol@sender.test"]
    assert b"report-type=disposition-notification" in mdn.data
    assert b"Disposition: automatic-action/MDN-sent-automatically; deleted" in mdn.data
    assert b"Not here" in mdn.data


VACATION = ('require "vacation";\n'
            'vacation :days 1 :subject "Away" "I am away until Monday.";\n')


def test_vacation_replies_once_per_sender_even_across_restart(mta, sink):
    install_script(mta, ALICE, VACATION)
    mta.start()
    assert send(mta, message(subject="first"))[0] == 250
    assert wait_for(lambda: len(sink.transactions) == 1, timeout=15), mta.log()[-3000:]
    reply = sink.transactions[0]
    assert reply.sender == "" and reply.rcpts == ["carol@sender.test"]
    parsed = email.message_from_bytes(reply.data)
    assert parsed["Subject"] == "Away"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["In-Reply-To"] and parsed["From"] == f"<{ALICE}>"
    assert b"I am away until Monday." in reply.data
    # Signed by the user's domain although the envelope sender is null.
    assert re.search(rb"DKIM-Signature:[^\r]*\r?\n?[^:]*d=example\.test", reply.data) or \
        (b"DKIM-Signature:" in reply.data and b"d=example.test" in reply.data), reply.data[:800]
    assert send(mta, message(subject="second"))[0] == 250
    mta.stop()
    mta.start()
    assert send(mta, message(subject="third"))[0] == 250
    # A different sender gets its own reply.
    assert send(mta, message(sender="dave@far.test", subject="other"), mail_from="dave@far.test")[0] == 250
    assert wait_for(lambda: len(sink.transactions) == 2, timeout=15), mta.log()[-3000:]
    mta.flush_queue_pass()
    assert [t.rcpts for t in sink.transactions] == [["carol@sender.test"], ["dave@far.test"]]
    assert len(imap_folder(mta, "INBOX")) == 4


@pytest.mark.parametrize("kind", ["list", "bounce", "auto-submitted", "not-addressed"])
def test_vacation_never_answers_robots(mta, sink, kind):
    install_script(mta, ALICE, VACATION)
    mta.start()
    mail_from, extra, to = "carol@sender.test", "", ALICE
    if kind == "list":
        extra = "List-Id: <talk.sender.test>\r\n"
    elif kind == "bounce":
        mail_from = ""
    elif kind == "auto-submitted":
        extra = "Auto-Submitted: auto-generated\r\n"
    else:
        to = "someone-else@sender.test"
    assert send(mta, message(to=to, extra=extra), mail_from=mail_from)[0] == 250
    assert mta.wait_log(r"sieve vacation-skipped", timeout=10), mta.log()[-3000:]
    mta.flush_queue_pass()
    assert sink.transactions == []
    assert len(imap_folder(mta, "INBOX")) == 1


def test_redirect_rewrites_the_sender_with_srs(mta, sink):
    install_script(mta, ALICE, 'redirect "alice@far.test";\n')
    mta.start()
    assert send(mta, message(subject="go on"))[0] == 250
    assert wait_for(lambda: len(sink.transactions) == 1, timeout=15), mta.log()[-3000:]
    tx = sink.transactions[0]
    assert tx.rcpts == ["alice@far.test"]
    assert tx.sender.startswith("SRS0=") and tx.sender.endswith("@example.test"), tx.sender
    assert b"X-Sieve-Redirected-From: <alice@example.test>" in tx.data
    assert b"go on" in tx.data
    assert imap_folder(mta, "INBOX") == []


def test_redirect_loop_is_kept_instead(mta, sink):
    install_script(mta, ALICE, 'redirect "alice@far.test";\n')
    mta.start()
    extra = "X-Sieve-Redirected-From: <alice@example.test>\r\n"
    assert send(mta, message(subject="looping", extra=extra))[0] == 250
    assert mta.wait_log(r"sieve redirect-refused .*reason=loop")
    mta.flush_queue_pass()
    assert sink.transactions == []
    assert len(imap_folder(mta, "INBOX")) == 1


def test_editheader_result_is_stored(mta):
    install_script(mta, ALICE, 'require "editheader";\n'
                               'addheader "X-Sieved" "yes";\n'
                               'deleteheader "X-Drop-Me";\n')
    mta.start()
    assert send(mta, message(subject="edit", extra="X-Drop-Me: 1\r\n"))[0] == 250
    (flags, raw), = imap_folder(mta, "INBOX")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"X-Sieved: yes" in head and b"X-Drop-Me" not in head


def test_spam_lands_in_junk_via_the_global_script(mta):
    mta.start()
    # No Date, Message-ID, Subject or To: 7.5 points, over add_header_score.
    faulty = b"From: Ann <ann@sender.test>\r\n\r\nbuy now\r\n"
    assert send(mta, faulty)[0] == 250
    junk = imap_folder(mta, JUNK)
    assert junk is not None and len(junk) == 1, mta.log()[-3000:]
    assert b"X-Spam-Flag: YES" in junk[0][1]
    assert imap_folder(mta, "INBOX") == []


def test_pathological_regex_finishes_and_delivers(mta):
    install_script(mta, ALICE, 'require ["regex", "fileinto"];\n'
                               'if header :regex "X-Long" "(a+)+$" { fileinto :create "Matched"; }\n'
                               'if body :regex "(a+)+$" { fileinto :create "BodyMatched"; }\n')
    mta.start()
    long_value = "a" * 100_000 + "!"
    # A header of 100 KB folded into lines under 998 octets.
    folded = "\r\n ".join(long_value[i:i + 900] for i in range(0, len(long_value), 900))
    # The body too: SMTP lines stay under 998 octets.
    body = "\r\n".join(long_value[i:i + 900] for i in range(0, len(long_value), 900))
    t0 = time.time()
    code, _ = send(mta, message(subject="regex", extra=f"X-Long: {folded}\r\n", body=body))
    assert code == 250
    assert time.time() - t0 < 10
    # Neither value ends in "a", so neither regex matches: implicit keep.
    assert wait_for(lambda: imap_folder(mta, "INBOX"), timeout=10)
    assert imap_folder(mta, "Matched") is None and imap_folder(mta, "BodyMatched") is None


def test_sighup_applies_new_sieve_settings(mta):
    """[sieve] before changed and SIGHUP sent: the next delivery runs the new
    global script, without a restart."""
    mta.start()
    assert send(mta, message(subject="before reload"))[0] == 250
    path = os.path.join(mta.dir, "data", "sieve", "sort-all.sieve")
    with open(path, "w") as f:
        f.write('require ["fileinto", "mailbox"];\nfileinto :create "Sorted";\n')
    run_as_owner(path)
    mta.set("sieve", "before", '["data/sieve/sort-all.sieve"]')
    mark = len(mta.log())
    mta.proc.send_signal(signal.SIGHUP)
    assert mta.wait_log(r"reload done", since=mark, timeout=10), mta.log()[-2000:]
    # Deliveries after the reload run the new script (a few tries: a
    # delivery already on the worker pool may still hold the old settings).
    for attempt in range(3):
        assert send(mta, message(subject=f"after reload {attempt}"))[0] == 250
        sorted_ = imap_folder(mta, "Sorted")
        if sorted_:
            break
        time.sleep(1)
    assert sorted_ is not None and len(sorted_) == 1, mta.log()[-3000:]
    assert b"Subject: after reload" in sorted_[0][1]
    inbox = imap_folder(mta, "INBOX")
    assert b"Subject: before reload" in inbox[0][1]
