"""Learning from users over IMAP (issue 13, the seed's antispam plugin): a
MOVE or COPY into the Junk folder learns spam, a MOVE out of Junk into any
folder but Trash learns ham, APPEND into Junk and moves to Trash learn
nothing. The learner runs on its own thread and logs one line per move
(`spam learned user=... class=... messages=N counted=M`); what it counted
shows in `mailfort spam stats --json` (learned_spam / learned_ham).

One instance serves the whole file (module fixture). The learner takes jobs
in order, so "nothing learned" is checked with a sentinel: a learning move
made afterwards whose log line must be the next one.
"""
import imaplib
import json
import random
import re
import time

import pytest

from conftest import PASSWORD, Instance, wait_for
from dnsserver import FakeDNS

ALICE = "alice@example.test"
JUNK = "Junk"
TRASH = "Trash"
LEARNED = re.compile(r"spam learned user=(\S+) class=(spam|ham) messages=(\d+) counted=(\d+)")

WORDS = """apple harbor lantern violet granite meadow copper silver orchard canyon thunder
pebble willow saffron marble falcon ember glacier juniper quartz tundra nectar cobalt
sparrow prairie walnut comet basalt indigo lotus magnet ripple summit velvet""".split()


@pytest.fixture(scope="module")
def server():
    dns = FakeDNS().start()
    inst = Instance(dns)
    try:
        inst.set("imap", "junk_folder", f'"{JUNK}"')
        inst.set("imap", "trash_folder", f'"{TRASH}"')
        inst.cli("user", "add", ALICE, "--password-stdin", input=PASSWORD + "\n", check=True)
        inst.start()
        yield inst
    finally:
        if inst.proc:
            inst.stop(expect_clean=False)
        dns.stop()
        inst.cleanup()


_serial = [0]


def message(tag):
    """A message of its own (distinct words: Bayes counts a message once)."""
    _serial[0] += 1
    rng = random.Random(f"{tag}-{_serial[0]}-{time.time_ns()}")
    body = "\r\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(6))
    return (f"From: Ann <ann@sender.test>\r\nTo: <{ALICE}>\r\nSubject: {tag} {_serial[0]}\r\n"
            f"Message-ID: <{time.time_ns()}.{_serial[0]}@sender.test>\r\n\r\n{body}\r\n").encode()


class Imap:
    def __init__(self, inst):
        self.m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], ssl_context=inst.server_hostname_context())
        self.m.login(ALICE, PASSWORD)

    def append(self, folder, n, tag):
        for _ in range(n):
            typ, data = self.m.append(folder, None, None, message(tag))
            assert typ == "OK", data

    def select(self, folder):
        typ, data = self.m.select(folder)
        assert typ == "OK", data
        return int(data[0])

    def uids(self, folder, tag):
        """UIDs of the messages in `folder` whose subject carries `tag`."""
        self.select(folder)
        typ, data = self.m.uid("SEARCH", "SUBJECT", f'"{tag}"')
        assert typ == "OK", data
        return data[0].decode().split()

    def transfer(self, verb, src, dst, tag):
        """UID MOVE/COPY of the `tag` messages from `src` to `dst`: the
        number moved and the seconds until the tagged reply."""
        uids = self.uids(src, tag)
        assert uids, f"no {tag} messages in {src}"
        start = time.monotonic()
        typ, data = self.m.uid(verb, ",".join(uids), dst)
        elapsed = time.monotonic() - start
        assert typ == "OK", data
        return len(uids), elapsed

    def count(self, folder, tag):
        return len(self.uids(folder, tag))

    def close(self):
        try:
            self.m.logout()
        except Exception:
            pass


@pytest.fixture
def imap(server):
    c = Imap(server)
    yield c
    c.close()


def learned_totals(inst):
    r = inst.cli("spam", "stats", "--json", "--days", "2")
    assert r.returncode == 0, r.stderr
    days = json.loads(r.stdout)["days"]
    return sum(d["learned_spam"] for d in days), sum(d["learned_ham"] for d in days)


def next_learned(inst, since, timeout=20):
    """The first `spam learned` line logged after `since`: (user, class, messages, counted)."""
    m = inst.wait_log(LEARNED.pattern, timeout=timeout, since=since)
    assert m, f"nothing learned:\n{inst.log()[since:][-3000:]}"
    return m.group(1), m.group(2), int(m.group(3)), int(m.group(4))


def all_learned(inst, since):
    return LEARNED.findall(inst.log()[since:])


def test_move_into_junk_learns_spam(server, imap):
    imap.append("INBOX", 3, "into-junk")
    before = learned_totals(server)
    mark = server.log_mark()
    moved, _ = imap.transfer("MOVE", "INBOX", JUNK, "into-junk")
    assert moved == 3
    assert next_learned(server, mark) == (ALICE, "spam", 3, 3)
    assert imap.count(JUNK, "into-junk") == 3 and imap.count("INBOX", "into-junk") == 0
    assert wait_for(lambda: learned_totals(server) == (before[0] + 3, before[1]), timeout=5), \
        (before, learned_totals(server))


def test_move_out_of_junk_to_inbox_learns_ham(server, imap):
    imap.append(JUNK, 2, "out-of-junk")  # delivered there as spam, never learned
    before = learned_totals(server)
    mark = server.log_mark()
    imap.transfer("MOVE", JUNK, "INBOX", "out-of-junk")
    assert next_learned(server, mark) == (ALICE, "ham", 2, 2)
    assert imap.count("INBOX", "out-of-junk") == 2
    assert wait_for(lambda: learned_totals(server) == (before[0], before[1] + 2), timeout=5)


def test_a_message_moved_back_out_of_junk_is_relearned_as_ham(server, imap):
    imap.append("INBOX", 1, "back-and-forth")
    mark = server.log_mark()
    imap.transfer("MOVE", "INBOX", JUNK, "back-and-forth")
    assert next_learned(server, mark) == (ALICE, "spam", 1, 1)
    before = learned_totals(server)
    mark = server.log_mark()
    imap.transfer("MOVE", JUNK, "INBOX", "back-and-forth")
    # Relearned: the same message moves from the spam class to ham.
    assert next_learned(server, mark) == (ALICE, "ham", 1, 1)
    assert wait_for(lambda: learned_totals(server) == (before[0], before[1] + 1), timeout=5)
    # Into Junk again: learned as spam once more (moved back).
    mark = server.log_mark()
    imap.transfer("MOVE", "INBOX", JUNK, "back-and-forth")
    assert next_learned(server, mark) == (ALICE, "spam", 1, 1)


def test_copy_into_junk_learns_spam_and_keeps_the_original(server, imap):
    imap.append("INBOX", 2, "copy-junk")
    before = learned_totals(server)
    mark = server.log_mark()
    imap.transfer("COPY", "INBOX", JUNK, "copy-junk")
    assert next_learned(server, mark) == (ALICE, "spam", 2, 2)
    assert imap.count("INBOX", "copy-junk") == 2 and imap.count(JUNK, "copy-junk") == 2
    assert wait_for(lambda: learned_totals(server) == (before[0] + 2, before[1]), timeout=5)


def test_learning_the_same_message_twice_counts_once(server, imap):
    imap.append("INBOX", 1, "twice")
    mark = server.log_mark()
    imap.transfer("COPY", "INBOX", JUNK, "twice")
    assert next_learned(server, mark) == (ALICE, "spam", 1, 1)
    before = learned_totals(server)
    mark = server.log_mark()
    imap.transfer("COPY", "INBOX", JUNK, "twice")  # a second copy of the same message
    assert next_learned(server, mark) == (ALICE, "spam", 1, 0)
    assert learned_totals(server) == before


def sentinel(server, imap, mark, tag):
    """A learning move after the ones under test: the learner works in
    order, so once its line is logged every earlier job has been logged too.
    Returns every `spam learned` line since `mark`."""
    imap.append("INBOX", 1, tag)
    imap.transfer("MOVE", "INBOX", JUNK, tag)
    assert wait_for(lambda: any(int(m[2]) == 1 and m[1] == "spam" for m in all_learned(server, mark)),
                    timeout=20), server.log()[mark:][-3000:]
    return all_learned(server, mark)


def test_move_from_junk_to_trash_learns_nothing(server, imap):
    imap.append(JUNK, 2, "to-trash")
    before = learned_totals(server)
    mark = server.log_mark()
    imap.transfer("MOVE", JUNK, TRASH, "to-trash")
    assert imap.count(TRASH, "to-trash") == 2
    lines = sentinel(server, imap, mark, "sentinel-trash")
    assert lines == [(ALICE, "spam", "1", "1")], lines
    assert learned_totals(server) == (before[0] + 1, before[1])


def test_append_into_junk_and_moves_elsewhere_learn_nothing(server, imap):
    before = learned_totals(server)
    mark = server.log_mark()
    imap.append(JUNK, 2, "appended")
    imap.append("INBOX", 1, "elsewhere")
    imap.m.create("Work")
    imap.transfer("MOVE", "INBOX", "Work", "elsewhere")
    imap.transfer("MOVE", "Work", TRASH, "elsewhere")
    lines = sentinel(server, imap, mark, "sentinel-append")
    assert lines == [(ALICE, "spam", "1", "1")], lines
    assert learned_totals(server) == (before[0] + 1, before[1])


def test_a_large_move_is_answered_and_learned_in_the_background(server, imap):
    imap.append("INBOX", 150, "bulk")
    mark = server.log_mark()
    moved, seconds = imap.transfer("MOVE", "INBOX", JUNK, "bulk")
    assert moved == 150
    assert seconds < 10, seconds
    # The session keeps answering while the learner works.
    typ, _ = imap.m.noop()
    assert typ == "OK"
    assert next_learned(server, mark, timeout=60) == (ALICE, "spam", 150, 150)
