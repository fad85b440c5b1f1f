"""Bayes end to end (issue 13): `mailfort spam learn` over generated Maildir
trees and loose message files, its summary line, learning twice and
relearning; then mail with the trained vocabularies over SMTP carries
BAYES_SPAM / BAYES_HAM and lands in the Junk folder / INBOX, and
`spam check --json` names BAYES_SPAM.

The corpus is 200 spam and 200 ham messages drawn (seeded RNG) from a
spam word list, a ham word list and words common to both, so the two
classes differ only by vocabulary. One instance is trained once for the
whole file (module fixture): 400 learns take a few seconds, not per test.
"""
import imaplib
import json
import os
import pty
import random
import re
import smtplib
import subprocess
import time

import pytest

from conftest import BIN, PASSWORD, Instance
from dnsserver import FakeDNS

ALICE = "alice@example.test"
CLIENT = "127.0.0.5"

SPAM_WORDS = """viagra casino jackpot winner lottery bitcoin investment guaranteed unclaimed prize pharmacy
discount cheap replica watches loan approval credit debt refinance millions inheritance beneficiary urgent
transfer exclusive limited bonus cash earn income weightloss pills miracle enlargement dating singles
click unsubscribe savings clearance crypto profit rich fortune claim wealth congratulations selected
""".split()
HAM_WORDS = """meeting agenda project deadline report quarterly review budget team schedule conference
minutes proposal draft feedback contract colleague lunch tomorrow presentation slides planning release
milestone kernel compiler database migration deployment backup server patch documentation family weekend
garden birthday recipe hiking library thesis lecture seminar homework parents holiday photos concert
""".split()
COMMON_WORDS = """the and with for this that you our your please about will have from are here more
information today new time just all can get now see look know also""".split()
SPAM_SENDERS = [("Prize Center", "prizes.example"), ("Pharmacy Direct", "meds.example"),
                ("Crypto Desk", "coins.example")]
HAM_SENDERS = [("Bob Miller", "work.example"), ("Carol White", "uni.example"), ("Mum", "family.example")]

SUMMARY = re.compile(r"^learned (\d+), already learned (\d+), relearned (\d+), skipped (\d+), failed (\d+)$")


def generate(rng, words, senders, serial):
    """One message (LF line ends, as files on disk have them)."""
    name, domain = rng.choice(senders)
    subject = " ".join(rng.choice(words) for _ in range(rng.randint(3, 5)))
    body_words = [rng.choice(words) if rng.random() < 0.6 else rng.choice(COMMON_WORDS) for _ in range(60)]
    lines = [" ".join(body_words[i:i + 10]) for i in range(0, len(body_words), 10)]
    user = rng.choice(["info", "news", "team", "hello"])
    return (f"From: {name} <{user}@{domain}>\n"
            f"To: <{ALICE}>\n"
            f"Subject: {subject}\n"
            f"Date: Thu, 03 Dec 2026 10:{serial % 60:02d}:00 +0000\n"
            f"Message-ID: <{serial}.{rng.getrandbits(48):x}@{domain}>\n"
            f"MIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n"
            f"\n"
            f"Hello,\n\n" + "\n".join(lines) + "\n\nRegards\n")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_corpus(base):
    """200 spam as a Maildir tree (cur/, new/ and a subfolder, with the
    control files and tmp/ a real Maildir has), 200 ham as loose files in
    a folder and a subfolder. Returns (spam dir, ham dir, spam files, ham files)."""
    rng = random.Random(13)
    spam_dir, ham_dir = os.path.join(base, "spam-maildir"), os.path.join(base, "ham-files")
    spam_files, ham_files = [], []
    for i in range(200):
        if i < 80:
            path = os.path.join(spam_dir, "cur", f"17650000{i:02d}.M{i}P7.host:2,S")
        elif i < 120:
            path = os.path.join(spam_dir, "new", f"17650000{i:02d}.M{i}P7.host")
        else:
            path = os.path.join(spam_dir, ".Archive", "cur", f"17650000{i:02d}.M{i}P7.host:2,RS")
        write(path, generate(rng, SPAM_WORDS, SPAM_SENDERS, i))
        spam_files.append(path)
    # Not messages: must not be learned (a count of 200 proves it).
    write(os.path.join(spam_dir, "tmp", "1765000999.M999P7.host"), generate(rng, SPAM_WORDS, SPAM_SENDERS, 999))
    write(os.path.join(spam_dir, "dovecot-uidlist"), "3 V1765000000 N201\n1 1765000000.M0P7.host\n")
    write(os.path.join(spam_dir, ".Archive", "maildirfolder"), "")
    os.makedirs(os.path.join(spam_dir, ".Archive", "new"), exist_ok=True)
    for i in range(200):
        sub = "" if i < 150 else "older"
        path = os.path.join(ham_dir, sub, f"message-{i:03d}.eml")
        write(path, generate(rng, HAM_WORDS, HAM_SENDERS, 1000 + i))
        ham_files.append(path)
    write(os.path.join(ham_dir, ".index"), "not a message\n")
    return spam_dir, ham_dir, spam_files, ham_files


def summary(r):
    """The five numbers of the summary line (the last line on stdout)."""
    lines = r.stdout.strip().split("\n")
    m = SUMMARY.match(lines[-1]) if lines else None
    assert m, f"no summary line: stdout={r.stdout!r} stderr={r.stderr!r}"
    return tuple(int(x) for x in m.groups())


def timed_cli(inst, *args):
    start = time.monotonic()
    r = inst.cli(*args)
    return r, time.monotonic() - start


@pytest.fixture(scope="module")
def trained():
    dns = FakeDNS().start()
    inst = Instance(dns)
    try:
        inst.cli("user", "add", ALICE, "--password-stdin", input=PASSWORD + "\n", check=True)
        corpus = os.path.join(inst.dir, "corpus")
        inst.spam_dir, inst.ham_dir, inst.spam_files, inst.ham_files = make_corpus(corpus)
        inst.first_spam = timed_cli(inst, "spam", "learn", "--spam", inst.spam_dir)
        inst.first_ham = timed_cli(inst, "spam", "learn", "--ham", inst.ham_dir)
        inst.start()
        yield inst
    finally:
        if inst.proc:
            inst.stop(expect_clean=False)
        dns.stop()
        inst.cleanup()


# ---- spam learn ----

def test_bulk_learning_counts_every_message_once(trained):
    for r, seconds in (trained.first_spam, trained.first_ham):
        assert r.returncode == 0, r.stderr
        # 200 each: Maildir control files, tmp/ and dot files were not taken.
        assert summary(r) == (200, 0, 0, 0, 0)
        assert r.stderr == ""  # no progress bar: stderr is not a terminal
        assert seconds < 30, f"400 learns should take seconds, took {seconds:.1f} s"


def test_learning_the_same_messages_again_changes_nothing(trained):
    r = trained.cli("spam", "learn", "--spam", trained.spam_dir)
    assert r.returncode == 0, r.stderr
    assert summary(r) == (0, 200, 0, 0, 0)
    # The same message in another copy (other Received lines, CRLF ends) is the same message.
    copy = os.path.join(trained.dir, "copy.eml")
    with open(trained.ham_files[0]) as f:
        text = f.read()
    with open(copy, "w") as f:
        f.write("Received: from relay.example by mx.example; Thu, 03 Dec 2026 10:00:00 +0000\r\n"
                + text.replace("\n", "\r\n"))
    r = trained.cli("spam", "learn", "--ham", copy)
    assert summary(r) == (0, 1, 0, 0, 0)


def test_learning_as_the_other_class_moves_messages(trained):
    five = trained.spam_files[:5]
    r = trained.cli("spam", "learn", "--ham", *five)
    assert r.returncode == 0, r.stderr
    assert summary(r) == (0, 0, 5, 0, 0)
    r = trained.cli("spam", "learn", "--ham", *five)
    assert summary(r) == (0, 5, 0, 0, 0)
    r = trained.cli("spam", "learn", "--spam", *five)  # back as they were, for the other tests
    assert summary(r) == (0, 0, 5, 0, 0)


def test_user_statistics_need_an_existing_account(trained):
    r = trained.cli("spam", "learn", "--ham", "--user", "nobody@example.test", trained.ham_files[0])
    assert r.returncode != 0
    assert "no such account" in r.stderr
    # New for alice's own statistics (already counted globally).
    r = trained.cli("spam", "learn", "--ham", "--user", "Alice@Example.Test", *trained.ham_files[:3])
    assert r.returncode == 0, r.stderr
    assert summary(r) == (3, 0, 0, 0, 0)
    r = trained.cli("spam", "learn", "--ham", "--user", ALICE, *trained.ham_files[:3])
    assert summary(r) == (0, 3, 0, 0, 0)


def test_missing_unreadable_and_empty_inputs(trained):
    empty = os.path.join(trained.dir, "empty.eml")
    open(empty, "w").close()
    r = trained.cli("spam", "learn", "--spam", empty, os.path.join(trained.dir, "no-such-folder"))
    assert r.returncode == 1
    assert summary(r) == (0, 0, 0, 1, 1)
    assert "no-such-folder: no such file or directory" in r.stderr
    assert trained.cli("spam", "learn", trained.ham_files[0]).returncode != 0  # neither --spam nor --ham
    assert trained.cli("spam", "learn", "--spam", "--ham", trained.ham_files[0]).returncode != 0
    assert trained.cli("spam", "learn", "--spam").returncode != 0  # no PATH


def test_nothing_to_learn_with_bayes_or_filtering_off(instance):
    msg = os.path.join(instance.dir, "one.eml")
    write(msg, generate(random.Random(1), SPAM_WORDS, SPAM_SENDERS, 1))
    instance.set("spam", "bayes", "false")
    r = instance.cli("spam", "learn", "--spam", msg)
    assert r.returncode == 1
    assert "Bayes is off" in r.stderr
    instance.set("spam", "engine", '"off"')
    r = instance.cli("spam", "learn", "--spam", msg)
    assert r.returncode == 1
    assert "spam filtering is off" in r.stderr


def test_progress_bar_on_a_terminal(trained):
    primary, secondary = pty.openpty()
    try:
        r = subprocess.run([BIN, "-c", trained.config, "spam", "learn", "--ham", trained.ham_dir],
                           stdout=subprocess.PIPE, stderr=secondary, text=True, timeout=60)
        os.close(secondary)
        secondary = None
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if secondary is not None:
            os.close(secondary)
        os.close(primary)
    assert r.returncode == 0
    assert summary(r) == (0, 200, 0, 0, 0)
    assert b"learning [" in shown and b"200/200" in shown, shown[-300:]


# ---- the trained filter at work ----
# These need the built-in scorer's BAYES_SPAM / BAYES_HAM symbols (branch
# i13-checks) and the SMTP glue (src/smtp/inbound_filter.cpp on main).

def send(inst, msg, mail_from):
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="client.example.org",
                     source_address=(CLIENT, 0), timeout=30)
    try:
        s.ehlo()
        code, text = s.mail(mail_from)
        assert code == 250, text
        code, text = s.rcpt(ALICE)
        assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode()
    finally:
        s.close()


def folder_headers(inst, folder):
    """The header blocks of the messages in one of alice's folders (None: no such folder)."""
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], ssl_context=inst.server_hostname_context())
    try:
        m.login(ALICE, PASSWORD)
        typ, data = m.select(folder, readonly=True)
        if typ != "OK":
            return None
        if int(data[0]) == 0:
            return []
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER])")
        assert typ == "OK"
        return [re.sub(r"\r\n[ \t]+", " ", part[1].decode()) for part in data if isinstance(part, tuple)]
    finally:
        m.logout()


def spamd_result(headers):
    m = re.search(r"^X-Spamd-Result: (.*)$", headers, re.M | re.I)
    assert m, headers
    return m.group(1)


def probe(words, senders, subject_tag):
    text = generate(random.Random(subject_tag), words, senders, 5000)
    text = text.replace("Subject: ", f"Subject: {subject_tag} ", 1)
    return text.replace("\n", "\r\n").encode()


def test_spam_vocabulary_is_bayes_spam_and_goes_to_junk(trained):
    code, text = send(trained, probe(SPAM_WORDS, SPAM_SENDERS, "probe-spam"), "info@prizes.example")
    assert code == 250, text
    junk = [h for h in folder_headers(trained, "Spam") or [] if "probe-spam" in h]
    inbox = [h for h in folder_headers(trained, "INBOX") or [] if "probe-spam" in h]
    assert len(junk) == 1 and inbox == [], (junk, inbox)
    result = spamd_result(junk[0])
    assert re.search(r"BAYES_SPAM\(\d", result), result
    assert "BAYES_HAM" not in result
    assert re.search(r"^X-Spam-Flag: YES", junk[0], re.M | re.I)


def test_ham_vocabulary_is_bayes_ham_and_stays_in_the_inbox(trained):
    code, text = send(trained, probe(HAM_WORDS, HAM_SENDERS, "probe-ham"), "bob@work.example")
    assert code == 250, text
    inbox = [h for h in folder_headers(trained, "INBOX") or [] if "probe-ham" in h]
    junk = [h for h in folder_headers(trained, "Spam") or [] if "probe-ham" in h]
    assert len(inbox) == 1 and junk == [], (inbox, junk)
    result = spamd_result(inbox[0])
    assert re.search(r"BAYES_HAM\(-?\d", result), result
    assert "BAYES_SPAM" not in result
    assert not re.search(r"^X-Spam-Flag:", inbox[0], re.M | re.I)


def test_spam_check_json_names_bayes_spam(trained):
    path = os.path.join(trained.dir, "probe-check.eml")
    with open(path, "wb") as f:
        f.write(probe(SPAM_WORDS, SPAM_SENDERS, "probe-check"))
    r = trained.cli("spam", "check", "--json", "--ip", CLIENT, "--sender", "info@prizes.example",
                    "--rcpt", ALICE, path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert "BAYES_SPAM" in json.dumps(report), r.stdout
    assert "BAYES_HAM" not in r.stdout
