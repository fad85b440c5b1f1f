"""QRESYNC (RFC 7162) and NOTIFY (RFC 5465) through a raw TLS client: a
Thunderbird-like resynchronisation in one round trip after another session
changed, expunged and added messages; VANISHED instead of EXPUNGE; NOTIFY
reports from another session while this one sends nothing."""

import re
import socket
import time

from conftest import PASSWORD

ALICE = "alice@example.test"


def msg(n):
    return (f"From: bob@example.org\r\nTo: {ALICE}\r\nSubject: message {n}\r\n"
            f"Message-ID: <q{n}@example.org>\r\n\r\nbody {n}\r\n").encode()


class Wire:
    """A raw IMAP client over TLS: whole responses (literals inline), and
    untagged responses that arrive while no command is running."""

    def __init__(self, server):
        s = socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10)
        self.sock = server.server_hostname_context().wrap_socket(s)
        self.buf = b""
        self.n = 0
        assert self.line().startswith(b"* OK")
        self.command(f'LOGIN "{ALICE}" "{PASSWORD}"')

    def _more(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        finally:
            self.sock.settimeout(10)
        assert chunk, "connection closed"
        self.buf += chunk

    def _raw_line(self, timeout=10):
        while b"\r\n" not in self.buf:
            self._more(timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def line(self, timeout=10):
        text = b""
        while True:
            line = self._raw_line(timeout)
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return text + line[:-2]
            size = int(m.group(1))
            while len(self.buf) < size:
                self._more()
            text += line + self.buf[:size]
            self.buf = self.buf[size:]

    def command(self, text, expect="OK"):
        self.n += 1
        tag = f"Q{self.n}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                status = line.split(b" ")[1].decode()
                if expect:
                    assert status == expect, f"{text}: {line!r}"
                return line, untagged
            assert line.startswith(b"* "), f"{text}: unexpected {line!r}"
            untagged.append(line)

    def append(self, folder, body, flags=""):
        self.n += 1
        tag = f"Q{self.n}"
        self.sock.sendall(f"{tag} APPEND {folder} ({flags}) {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
        while True:
            line = self.line()
            if line.startswith(tag.encode()):
                assert b" OK " in line, line
                return int(re.search(rb"APPENDUID \d+ (\d+)", line).group(1))

    def unsolicited(self, pattern, timeout=5):
        """Reads untagged responses sent without a command until one matches."""
        seen = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.line(timeout=max(0.1, deadline - time.time()))
            except (socket.timeout, TimeoutError):
                break
            seen.append(line)
            if re.search(pattern, line):
                return seen
        raise AssertionError(f"no {pattern!r} within {timeout}s; got {seen!r}")

    def quiet(self, seconds=0.5):
        """Nothing arrives unasked for `seconds`."""
        try:
            self._more(seconds)
        except (socket.timeout, TimeoutError):
            pass
        assert self.buf == b"", self.buf

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def code(line, name):
    m = re.search(rb"\[" + name.encode() + rb" (\d+)\]", line)
    return int(m.group(1)) if m else None


def select_state(untagged):
    state = {}
    for line in untagged:
        for name in ("UIDVALIDITY", "HIGHESTMODSEQ", "UIDNEXT"):
            v = code(line, name)
            if v is not None:
                state[name] = v
    return state


def fetches(untagged):
    """uid -> (flags, modseq) of the untagged FETCH responses."""
    out = {}
    for line in untagged:
        m = re.match(rb"\* \d+ FETCH \((.*)\)$", line)
        if not m:
            continue
        items = m.group(1)
        uid = int(re.search(rb"UID (\d+)", items).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", items)
        modseq = re.search(rb"MODSEQ \((\d+)\)", items)
        out[uid] = (set(flags.group(1).split()) if flags else None, int(modseq.group(1)) if modseq else None)
    return out


def test_thunderbird_like_resync_in_one_round_trip(server):
    b = Wire(server)
    uids = [b.append("INBOX", msg(i)) for i in range(1, 6)]
    # Session A caches the folder, then goes away.
    a = Wire(server)
    _, un = a.command("ENABLE QRESYNC")
    assert b"* ENABLED QRESYNC" in un
    _, un = a.command("SELECT INBOX")
    cached = select_state(un)
    _, un = a.command("UID FETCH 1:* (FLAGS)")
    assert sorted(fetches(un)) == uids
    a.command("LOGOUT", expect=None)
    a.close()
    # Session B: a flag change, an expunge, a new message.
    b.command("SELECT INBOX")
    b.command(f"UID STORE {uids[1]} +FLAGS (\\Flagged)")
    b.command(f"UID STORE {uids[2]} +FLAGS (\\Deleted)")
    b.command(f"UID EXPUNGE {uids[2]}")
    new_uid = b.append("INBOX", msg(6))
    # A comes back: exactly the changes, before the SELECT's OK.
    a = Wire(server)
    a.command("ENABLE QRESYNC")
    known = f"{uids[0]}:{uids[-1]}"
    tagged, un = a.command(
        f"SELECT INBOX (QRESYNC ({cached['UIDVALIDITY']} {cached['HIGHESTMODSEQ']} {known}))")
    assert b"[READ-WRITE]" in tagged
    vanished = [line for line in un if line.startswith(b"* VANISHED")]
    assert vanished == [b"* VANISHED (EARLIER) %d" % uids[2]], un
    changed = fetches(un)
    assert set(changed) == {uids[1], new_uid}, un
    assert changed[uids[1]][0] == {b"\\Flagged"}
    assert all(modseq > cached["HIGHESTMODSEQ"] for _, modseq in changed.values())
    assert not [line for line in un if re.match(rb"\* \d+ EXPUNGE", line)]
    assert select_state(un)["HIGHESTMODSEQ"] >= max(m for _, m in changed.values())
    # Nothing changed since: nothing reported.
    hms = select_state(un)["HIGHESTMODSEQ"]
    _, un = a.command(f"SELECT INBOX (QRESYNC ({cached['UIDVALIDITY']} {hms}))")
    assert b"* OK [CLOSED]" in un[0], un
    assert not [line for line in un if b"VANISHED" in line or b"FETCH" in line], un
    # Another UIDVALIDITY: the cache is void, no VANISHED/FETCH (full resync).
    _, un = a.command(f"SELECT INBOX (QRESYNC ({cached['UIDVALIDITY'] + 1} 1 1:10))")
    assert not [line for line in un if b"VANISHED" in line or b"FETCH" in line], un
    a.close()
    b.close()


def test_vanished_replaces_expunge_after_enable(server):
    b = Wire(server)
    uids = [b.append("INBOX", msg(i)) for i in range(1, 5)]
    a = Wire(server)
    a.command("ENABLE QRESYNC")
    a.command("SELECT INBOX")
    # Another session's expunge.
    b.command("SELECT INBOX")
    b.command(f"UID STORE {uids[0]} +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    _, un = a.command("NOOP")
    assert b"* VANISHED %d" % uids[0] in un, un
    assert not [line for line in un if line.endswith(b"EXPUNGE")], un
    # Its own EXPUNGE, and every FETCH carries the UID.
    _, un = a.command(f"UID STORE {uids[1]}:{uids[2]} +FLAGS (\\Deleted)")
    assert all(b"UID " in line for line in un if b"FETCH" in line), un
    _, un = a.command("EXPUNGE")
    assert b"* VANISHED %d:%d" % (uids[1], uids[2]) in un, un
    _, un = a.command("FETCH 1 (FLAGS)")
    assert b"UID %d" % uids[3] in un[0], un
    # A session without QRESYNC still gets EXPUNGE.
    c = Wire(server)
    c.command("SELECT INBOX")
    b.command(f"UID STORE {uids[3]} +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    _, un = c.command("NOOP")
    assert b"* 1 EXPUNGE" in un, un
    for w in (a, b, c):
        w.close()


def test_uid_fetch_changedsince_vanished(server):
    a = Wire(server)
    uids = [a.append("INBOX", msg(i)) for i in range(1, 6)]
    a.command("ENABLE QRESYNC")
    _, un = a.command("SELECT INBOX")
    hms = select_state(un)["HIGHESTMODSEQ"]
    a.command(f"UID STORE {uids[1]},{uids[3]} +FLAGS.SILENT (\\Deleted)")
    a.command("EXPUNGE")
    a.command(f"UID STORE {uids[4]} +FLAGS.SILENT (\\Seen)")
    _, un = a.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
    assert un[0] == b"* VANISHED (EARLIER) %d,%d" % (uids[1], uids[3]), un
    assert set(fetches(un)) == {uids[4]}, un
    # Limited to the UID set asked for.
    _, un = a.command(f"UID FETCH {uids[0]}:{uids[2]} (FLAGS) (CHANGEDSINCE {hms} VANISHED)")
    assert un == [b"* VANISHED (EARLIER) %d" % uids[1]], un
    a.close()


def test_qresync_refusals(server):
    a = Wire(server)
    a.append("INBOX", msg(1))
    # QRESYNC parameter without ENABLE QRESYNC: BAD (RFC 7162 3.2.5).
    line, _ = a.command("SELECT INBOX (QRESYNC (1 1))", expect="BAD")
    _, un = a.command("SELECT INBOX")
    line, _ = a.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", expect="BAD")
    a.command("ENABLE QRESYNC")
    # VANISHED needs UID FETCH and CHANGEDSINCE.
    a.command("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", expect="BAD")
    a.command("UID FETCH 1:* (FLAGS) (VANISHED)", expect="BAD")
    a.command("SELECT INBOX (QRESYNC (0 1))", expect="BAD")
    a.command("SELECT INBOX (QRESYNC (1 1 (1:2)))", expect="BAD")
    # Still usable.
    _, un = a.command("SELECT INBOX (QRESYNC (1 1))")
    assert any(line.startswith(b"* OK [CLOSED]") for line in un), un
    a.close()


def test_notify_status_for_other_folders(server):
    a = Wire(server)
    a.command("CREATE Work")
    a.append("Work", msg(1))
    a.command("SELECT INBOX")
    _, un = a.command(
        "NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) "
        "(personal (MessageNew MessageExpunge FlagChange))")
    work = [line for line in un if line.startswith(b'* STATUS "Work"') or line.startswith(b"* STATUS Work")]
    assert work and b"MESSAGES 1" in work[0] and b"HIGHESTMODSEQ" in work[0], un
    assert not [line for line in un if b"INBOX" in line], un  # never for the selected folder
    b = Wire(server)
    # New mail in another folder: STATUS while A sends nothing.
    uid = b.append("Work", msg(2))
    seen = a.unsolicited(rb"STATUS \"?Work\"? \(MESSAGES 2 UIDNEXT %d" % (uid + 1))
    # A flag change there.
    b.command("SELECT Work")
    b.command(f"UID STORE {uid} +FLAGS (\\Seen)")
    seen = a.unsolicited(rb"STATUS \"?Work\"? \(MESSAGES 2 .*UNSEEN 1 HIGHESTMODSEQ")
    # An expunge there.
    b.command(f"UID STORE {uid} +FLAGS (\\Deleted)")
    b.command("EXPUNGE")
    seen = a.unsolicited(rb"STATUS \"?Work\"? \(MESSAGES 1 ")
    # New mail in the selected folder: EXISTS and the FETCH asked for.
    b.command("UNSELECT")
    new = b.append("INBOX", msg(3), flags="\\Flagged")
    seen = a.unsolicited(rb"\* 1 FETCH")
    assert b"* 1 EXISTS" in seen, seen
    # \Recent too: this IMAP4rev1 session is the one that saw it arrive.
    assert re.search(rb"\* 1 FETCH \(UID %d FLAGS \((\\Recent )?\\Flagged\)\)" % new, seen[-1]), seen
    # ... and its expunge, at once for "selected".
    b.command("SELECT INBOX")
    b.command(f"UID STORE {new} +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    a.unsolicited(rb"\* 1 EXPUNGE")
    # NOTIFY NONE: quiet again.
    a.command("NOTIFY NONE")
    b.append("Work", msg(4))
    a.quiet()
    a.close()
    b.close()


def test_notify_mailbox_names_and_subscriptions(server):
    a = Wire(server)
    a.command("NOTIFY SET (personal (MailboxName SubscriptionChange))")
    b = Wire(server)
    b.command("CREATE Projects")
    a.unsolicited(rb'\* LIST \(\) "/" "?Projects"?$')
    b.command("SUBSCRIBE Projects")
    a.unsolicited(rb'\* LIST \(\\Subscribed\) "/" "?Projects"?$')
    b.command("RENAME Projects Archive2")
    a.unsolicited(rb'\* LIST \(\\Subscribed\) "/" "?Archive2"? \("OLDNAME" \("?Projects"?\)\)')
    b.command("DELETE Archive2")
    a.unsolicited(rb'\* LIST \(\\NonExistent\) "/" "?Archive2"?')
    # Message events were not asked for: nothing about new mail.
    b.append("INBOX", msg(1))
    a.quiet()
    a.close()
    b.close()


def test_notify_refusals(server):
    a = Wire(server)
    line, _ = a.command("NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))", expect="NO")
    assert b"[BADEVENT (" in line, line
    a.command("NOTIFY SET (selected (MessageNew))", expect="BAD")
    a.command("NOTIFY SET (nowhere (MessageNew MessageExpunge))", expect="BAD")
    a.command("NOTIFY SET", expect="BAD")
    # A mailbox that does not exist is no error; the session stays usable.
    a.command("NOTIFY SET (mailboxes NoSuchFolder (MessageNew MessageExpunge))")
    a.command("NOOP")
    a.close()


def test_notify_overflow_turns_notify_off(instance):
    instance.set("imap", "notify_max_pending_bytes", "4096")
    instance.add_user(ALICE)
    instance.start()
    a = Wire(instance)
    b = Wire(instance)
    long = "x" * 60
    for i in range(50):
        b.command(f"CREATE Tree/{long}{i:02d}")
    a.command("NOTIFY SET (personal (MailboxName))")
    # One change renames 51 folders: more than 4 KiB of LIST at once.
    b.command("RENAME Tree Forest")
    seen = a.unsolicited(rb"\[NOTIFICATIONOVERFLOW\]")
    assert not [line for line in seen if b"OLDNAME" in line], seen
    # NOTIFY is off now; the session goes on.
    b.command("CREATE Other")
    a.quiet()
    a.command("NOOP")
    a.close()
    b.close()


def test_notify_selected_delayed_and_subscribed(server):
    a = Wire(server)
    b = Wire(server)
    uid = b.append("INBOX", msg(1))
    b.command("CREATE Lists")
    b.command("CREATE Unwatched")
    b.command("SUBSCRIBE Lists")
    a.command("SELECT INBOX")
    a.command("NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (subscribed (MessageNew MessageExpunge))")
    # New mail in a subscribed folder is reported, in an unsubscribed one not.
    b.append("Unwatched", msg(2))
    a.quiet()
    b.append("Lists", msg(3))
    a.unsolicited(rb'STATUS "?Lists"? \(MESSAGES 1 ')
    # selected-delayed: an expunge waits for a command that allows it.
    b.command("SELECT INBOX")
    b.command(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
    b.command("EXPUNGE")
    try:  # what arrives unasked (the \Deleted FETCH may), but no EXPUNGE
        early = a.unsolicited(rb"EXPUNGE", timeout=1.0)
    except AssertionError:
        early = []
    assert not early, early
    _, un = a.command("NOOP")
    assert b"* 1 EXPUNGE" in un, un
    a.close()
    b.close()
