"""Scan history and statistics (issue 13, F6): every message the server
scans is recorded (time, queue id, client IP, sender, recipients, listener,
score, action, symbols) and counted per UTC day; `mailfort spam history
[--limit N] [--json]` and `mailfort spam stats [--days N] [--json]` read
them while the server runs. Purging after history_days (with a fake clock)
is in src/filter/history_test.cpp.

One instance for the file: two clean messages and a GTUBE one over the MX
from 127.0.0.5, one clean message over submission.
"""
import calendar
import email.utils
import json
import re
import smtplib
import time

import pytest

from conftest import PASSWORD, Instance, wait_for
from dnsserver import FakeDNS

ALICE = "alice@example.test"
CLIENT = "127.0.0.5"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
QUEUED = re.compile(r"queued as (\S+)")


def message(subject, body="See you at noon.", sender="ann@sender.test"):
    return (f"From: Ann <{sender}>\r\nTo: <{ALICE}>\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{time.time_ns()}@client.example.org>\r\n"
            f"\r\n{body}\r\n").encode()


def transaction(s, mail_from, msg):
    code, text = s.mail(mail_from)
    assert code == 250, text
    code, text = s.rcpt(ALICE)
    assert code == 250, text
    code, text = s.data(msg)
    return code, text.decode()


def send_mx(inst, msg, mail_from="ann@sender.test"):
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="client.example.org",
                     source_address=(CLIENT, 0), timeout=30)
    try:
        s.ehlo()
        return transaction(s, mail_from, msg)
    finally:
        s.close()


def send_submission(inst, msg):
    s = inst.submission_tls()
    try:
        s.login(ALICE, PASSWORD)
        return transaction(s, ALICE, msg)
    finally:
        s.close()


def history(inst, *args):
    r = inst.cli("spam", "history", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def stats(inst, *args):
    r = inst.cli("spam", "stats", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def scanned():
    dns = FakeDNS().start()
    inst = Instance(dns)
    try:
        inst.cli("user", "add", ALICE, "--password-stdin", input=PASSWORD + "\n", check=True)
        inst.start()
        inst.sent = []  # (queue id or None, listener, expected action, subject), oldest first
        for subject in ("first clean", "second clean"):
            code, text = send_mx(inst, message(subject))
            assert code == 250, text
            inst.sent.append((QUEUED.search(text).group(1), "mx", "no action", subject))
        code, text = send_mx(inst, message("gtube", body=f"test {GTUBE} test"), "spammer@sender.test")
        assert code == 554, text
        inst.sent.append((None, "mx", "reject", "gtube"))
        code, text = send_submission(inst, message("from alice", sender=ALICE))
        assert code == 250, text
        inst.sent.append((QUEUED.search(text).group(1), "submission", "no action", "from alice"))
        # The server records after replying: wait until all four are there.
        assert wait_for(lambda: len(history(inst)) == 4, timeout=10), history(inst)
        yield inst
    finally:
        if inst.proc:
            inst.stop(expect_clean=False)
        dns.stop()
        inst.cleanup()


def test_history_json_shows_each_scan_newest_first(scanned):
    records = history(scanned)
    assert [r["action"] for r in records] == [a for _, _, a, _ in reversed(scanned.sent)]
    assert [r["listener"] for r in records] == [lst for _, lst, _, _ in reversed(scanned.sent)]
    # Queue ids are those of the 250 replies.
    for record, (queue_id, listener, _, _) in zip(records, reversed(scanned.sent)):
        if queue_id:
            assert record["queue_id"] == queue_id
        assert record["rcpts"] == [ALICE]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", record["time"]), record["time"]
        assert abs(time.time() - calendar.timegm(time.strptime(record["time"], "%Y-%m-%dT%H:%M:%SZ"))) < 300
        assert record["virus"] == ""
        assert isinstance(record["score"], (int, float))
        if listener == "mx":  # the authentication results are symbols there
            assert record["symbols"], record
    submission, gtube, second, first = records
    assert first["ip"] == CLIENT and first["sender"] == "ann@sender.test"
    assert submission["sender"] == ALICE and submission["ip"] == "127.0.0.1"
    assert gtube["sender"] == "spammer@sender.test"
    names = [s["name"] for s in gtube["symbols"]]
    assert "GTUBE" in names, names
    assert "GTUBE" not in [s["name"] for s in first["symbols"]]
    for s in first["symbols"]:
        assert set(s) == {"name", "score", "options"}


def test_history_limit_takes_the_newest(scanned):
    records = history(scanned, "--limit", "2")
    assert [r["action"] for r in records] == ["no action", "reject"]
    assert records[0]["queue_id"] == scanned.sent[-1][0]


def test_history_text_one_line_per_scan(scanned):
    r = scanned.cli("spam", "history")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert len(lines) == 4, r.stdout
    first_id = scanned.sent[0][0]
    oldest = lines[-1]
    assert oldest.startswith(time.strftime("%Y-%m-%dT", time.gmtime())), oldest
    assert f" {first_id} {CLIENT} <ann@sender.test> -> <{ALICE}> score=" in oldest, oldest
    assert 'action="no action"' in oldest
    assert re.search(r" symbols=[A-Z0-9_]+\(-?\d+\.\d\d\)", oldest), oldest
    assert 'action="reject"' in lines[1] and "GTUBE(" in lines[1], lines[1]


def test_stats_count_today_by_action(scanned):
    s = stats(scanned)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    days = {d["day"]: d for d in s["days"]}
    assert today in days, s
    d = days[today]
    assert d["scanned"] == 4
    assert d["ham"] == 3
    assert d["rejected"] == 1
    assert d["add_header"] == 0 and d["soft_rejected"] == 0 and d["virus"] == 0
    assert d["learned_spam"] == 0 and d["learned_ham"] == 0
    top = {t["name"]: t["count"] for t in s["top_symbols"]}
    assert top.get("GTUBE") == 1, s["top_symbols"]
    assert len(s["top_symbols"]) <= 10
    counts = [t["count"] for t in s["top_symbols"]]
    assert counts == sorted(counts, reverse=True)


def test_stats_text_has_a_row_per_day_and_the_top_symbols(scanned):
    r = scanned.cli("spam", "stats", "--days", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert lines[0].split() == ["day", "scanned", "ham", "add_header", "rejected", "soft_rejected", "virus",
                                "learned_spam", "learned_ham"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert lines[1].split() == [today, "4", "3", "0", "1", "0", "0", "0", "0"], lines[1]
    assert lines[-1].startswith("top symbols: "), lines[-1]
    assert re.search(r"\bGTUBE 1\b", lines[-1]), lines[-1]


def test_spam_learn_is_counted_in_stats(scanned):
    path = f"{scanned.dir}/learn-me.eml"
    with open(path, "wb") as f:
        f.write(message("learn me", body="lottery winner jackpot claim your prize today"))
    r = scanned.cli("spam", "learn", "--spam", path)
    assert r.returncode == 0, r.stderr
    today = time.strftime("%Y-%m-%d", time.gmtime())
    d = {d["day"]: d for d in stats(scanned)["days"]}[today]
    assert d["learned_spam"] == 1 and d["learned_ham"] == 0


def test_bad_arguments_are_refused(scanned):
    assert scanned.cli("spam", "history", "--limit", "0").returncode != 0
    assert scanned.cli("spam", "stats", "--days", "0").returncode != 0
    assert scanned.cli("spam", "stats", "--days", "x").returncode != 0
