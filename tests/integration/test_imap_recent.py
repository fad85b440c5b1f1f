"""IMAP state a client caches, through raw IMAPS sessions (exact untagged
responses) and imaplib:

- \\Recent (IMAP4rev1, RFC 3501 2.3.2): RECENT in SELECT/EXAMINE/STATUS and
  after new mail, the flag in FETCH, SEARCH NEW/OLD/RECENT; one session owns
  a new message; IMAP4rev2 sessions see none and take none;
- keywords announced in untagged FLAGS/PERMANENTFLAGS before a FETCH shows
  them, whichever session set them (STORE, APPEND);
- OK [HIGHESTMODSEQ] after the first CONDSTORE-enabling command (RFC 7162
  3.1), and ESEARCH MIN/MAX reporting the MODSEQ of what they return;
- UIDVALIDITY never repeated for a name: DELETE + CREATE, RENAME, restarts.
"""

import imaplib
import re
import socket

from conftest import PASSWORD

ALICE = "alice@example.test"
MSG = b"From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n"


class Session:
    """A raw IMAPS session: each command returns its untagged lines (literal
    data inlined) and the tagged line."""

    def __init__(self, server, login=True):
        ctx = server.server_hostname_context()
        self.s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10))
        self.buf = b""
        self.n = 0
        assert self.line().startswith(b"* OK")
        if login:
            self.ok(f'LOGIN "{ALICE}" "{PASSWORD}"')

    def line(self):
        """One response line, with any literals it carries."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                assert chunk, "connection closed"
                self.buf += chunk
            head, self.buf = self.buf.split(b"\r\n", 1)
            out += head
            m = re.search(rb"\{(\d+)\+?\}$", head)
            if not m:
                return out
            size = int(m.group(1))
            while len(self.buf) < size:
                chunk = self.s.recv(65536)
                assert chunk, "connection closed"
                self.buf += chunk
            out += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]

    def cmd(self, text):
        self.n += 1
        tag = f"r{self.n}".encode()
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            ln = self.line()
            if ln.startswith(tag + b" "):
                return untagged, ln[len(tag) + 1:]
            untagged.append(ln)

    def ok(self, text):
        untagged, done = self.cmd(text)
        assert done.startswith(b"OK"), (text, untagged, done)
        return untagged

    def append(self, folder, flags="", message=MSG):
        self.n += 1
        tag = f"r{self.n}".encode()
        flags = f" ({flags})" if flags else ""
        self.s.sendall(tag + f" APPEND {folder}{flags} {{{len(message)}+}}\r\n".encode() + message + b"\r\n")
        untagged = []
        while True:
            ln = self.line()
            if ln.startswith(tag + b" "):
                assert ln.startswith(tag + b" OK"), ln
                return untagged
            untagged.append(ln)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (AssertionError, OSError):
            pass
        self.s.close()


def find(lines, pattern):
    """The lines that match `pattern` (a regex on bytes)."""
    return [ln for ln in lines if re.search(pattern, ln)]


def flags_of(lines, seq):
    """The FLAGS of message `seq` in FETCH responses, as a set."""
    for ln in lines:
        m = re.match(rb"\* %d FETCH \(.*FLAGS \(([^)]*)\)" % seq, ln)
        if m:
            return set(m.group(1).split())
    raise AssertionError(f"no FETCH FLAGS for {seq} in {lines}")


def count(lines, what):
    """n of the untagged `* n EXISTS` / `* n RECENT`, None when absent."""
    found = [int(m.group(1)) for ln in lines for m in [re.match(rb"\* (\d+) " + what + rb"$", ln)] if m]
    assert len(found) <= 1, lines
    return found[0] if found else None


def search(lines):
    ln = find(lines, rb"^\* SEARCH")
    assert len(ln) == 1, lines
    return [int(x) for x in ln[0].split()[2:]]


def status(session, folder, items):
    ln = find(session.ok(f"STATUS {folder} ({items})"), rb"^\* STATUS")
    assert len(ln) == 1
    return {k.decode(): int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", ln[0])}


def test_recent_select_examine_status(server):
    a = Session(server)
    a.ok("CREATE Box")
    a.append("Box")
    a.append("Box")
    assert status(a, "Box", "MESSAGES RECENT") == {"MESSAGES": 2, "RECENT": 2}
    # EXAMINE shows them recent without taking them.
    out = a.ok("EXAMINE Box")
    assert count(out, b"RECENT") == 2
    assert b"\\Recent" in flags_of(a.ok("FETCH 1:2 FLAGS"), 2)
    a.ok("CLOSE")
    assert status(a, "Box", "RECENT")["RECENT"] == 2
    # SELECT takes them: recent in this session only, and only this time.
    b = Session(server)
    out = b.ok("SELECT Box")
    assert count(out, b"EXISTS") == 2 and count(out, b"RECENT") == 2
    fetched = b.ok("FETCH 1:2 FLAGS")
    assert flags_of(fetched, 1) == {b"\\Recent"} and flags_of(fetched, 2) == {b"\\Recent"}
    assert search(b.ok("SEARCH RECENT")) == [1, 2]
    assert search(b.ok("SEARCH NEW")) == [1, 2]
    assert search(b.ok("SEARCH OLD")) == []
    # \Seen makes a recent message not NEW but still RECENT.
    assert flags_of(b.ok("STORE 1 +FLAGS (\\Seen)"), 1) == {b"\\Recent", b"\\Seen"}
    assert search(b.ok("SEARCH NEW")) == [2]
    assert search(b.ok("SEARCH RECENT")) == [1, 2]
    # Clients cannot set or clear \Recent.
    _, done = b.cmd("STORE 1 -FLAGS (\\Recent)")
    assert done.startswith(b"BAD")
    assert status(a, "Box", "RECENT")["RECENT"] == 0
    out = a.ok("SELECT Box")
    assert count(out, b"RECENT") == 0
    assert b"\\Recent" not in flags_of(a.ok("FETCH 1:2 FLAGS"), 1)
    assert search(a.ok("SEARCH OLD")) == [1, 2]
    assert search(a.ok("SEARCH RECENT")) == []
    b.close()
    a.close()


def test_new_mail_is_recent_in_one_session_only(server):
    setup = Session(server)
    setup.ok("CREATE Box")
    a, b = Session(server), Session(server)
    assert count(a.ok("SELECT Box"), b"RECENT") == 0
    assert count(b.ok("SELECT Box"), b"RECENT") == 0
    setup.append("Box")
    setup.append("Box")
    out = a.ok("NOOP")
    assert count(out, b"EXISTS") == 2 and count(out, b"RECENT") == 2
    out = b.ok("NOOP")
    assert count(out, b"EXISTS") == 2 and count(out, b"RECENT") == 0
    assert b"\\Recent" in flags_of(a.ok("FETCH 2 FLAGS"), 2)
    assert b"\\Recent" not in flags_of(b.ok("FETCH 2 FLAGS"), 2)
    assert search(b.ok("SEARCH RECENT")) == []
    assert search(a.ok("SEARCH NEW")) == [1, 2]
    # The session's own APPEND and COPY into its folder are new mail too.
    b.append("Box")
    assert b"\\Recent" in flags_of(b.ok("FETCH 3 FLAGS"), 3)
    out = a.ok("COPY 1 Box")
    assert count(out, b"EXISTS") == 4 and count(out, b"RECENT") == 3
    # An expunged recent message no longer counts.
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    out = a.append("Box")
    assert count(out, b"EXISTS") == 4 and count(out, b"RECENT") == 3
    # Delivered to INBOX while selected there (SMTP): the selected session owns it.
    inbox = Session(server)
    inbox.ok("SELECT INBOX")
    s = server.smtp("mx")
    # With To and Message-ID: the bare MSG would score as spam and go to Junk.
    s.sendmail("bob@example.org", [ALICE], b"To: alice@example.test\r\nMessage-ID: <recent@example.org>\r\n" + MSG)
    s.quit()
    out = inbox.ok("NOOP")
    assert count(out, b"EXISTS") == 1 and count(out, b"RECENT") == 1
    for c in (a, b, setup, inbox):
        c.close()


def test_imap4rev2_session_sees_and_takes_no_recent(server):
    setup = Session(server)
    setup.ok("CREATE Box")
    setup.append("Box")
    rev2 = Session(server)
    assert b"IMAP4rev2" in rev2.ok("ENABLE IMAP4rev2")[0]
    out = rev2.ok("SELECT Box")
    assert not find(out, rb"RECENT")
    assert flags_of(rev2.ok("FETCH 1 FLAGS"), 1) == set()
    setup.append("Box")
    out = rev2.ok("NOOP")
    assert count(out, b"EXISTS") == 2 and not find(out, rb"RECENT")
    # Left for the IMAP4rev1 client.
    rev1 = Session(server)
    assert count(rev1.ok("SELECT Box"), b"RECENT") == 2
    assert b"\\Recent" in flags_of(rev1.ok("FETCH 2 FLAGS"), 2)
    for c in (setup, rev2, rev1):
        c.close()


def announced(lines):
    """Keywords of the last untagged FLAGS and PERMANENTFLAGS, by position."""
    flags = find(lines, rb"^\* FLAGS \(")
    perm = find(lines, rb"^\* OK \[PERMANENTFLAGS \(")
    assert flags and perm, lines
    words = lambda ln: {w for w in re.search(rb"\(([^)]*)\)", ln).group(1).split() if not w.startswith(b"\\")}
    return words(flags[-1]), words(perm[-1])


def first_index(lines, pattern):
    return next(i for i, ln in enumerate(lines) if re.search(pattern, ln))


def test_keywords_are_announced_before_a_fetch_shows_them(server):
    setup = Session(server)
    setup.ok("CREATE Box")
    setup.append("Box", "$Old")
    a, b = Session(server), Session(server)
    assert announced(a.ok("SELECT Box")) == ({b"$Old"}, {b"$Old"})
    b.ok("SELECT Box")
    # This session's STORE: FLAGS and PERMANENTFLAGS first, then the FETCH.
    out = b.ok("STORE 1 +FLAGS ($Work)")
    assert announced(out) == ({b"$Old", b"$Work"}, {b"$Old", b"$Work"})
    assert first_index(out, rb"^\* FLAGS") < first_index(out, rb"^\* 1 FETCH")
    # Another session's STORE reaches this one the same way.
    out = a.ok("NOOP")
    assert announced(out)[0] == {b"$Old", b"$Work"}
    assert first_index(out, rb"^\* FLAGS") < first_index(out, rb"^\* 1 FETCH")
    assert flags_of(out, 1) >= {b"$Old", b"$Work"}
    # An APPEND with a new keyword, by another session.
    setup.append("Box", "$Fresh")
    out = a.ok("NOOP")
    assert count(out, b"EXISTS") == 2
    assert b"$Fresh" in announced(out)[0]
    out = a.ok("FETCH 2 FLAGS")
    assert b"$Fresh" in flags_of(out, 2)
    # Known keywords are not announced again.
    out = a.ok("STORE 2 +FLAGS ($Work)")
    assert not find(out, rb"^\* FLAGS") and b"$Work" in flags_of(out, 2)
    # NIL is a keyword like any other atom (as Dovecot stores it).
    out = a.ok("STORE 1 +FLAGS NIL")
    assert b"NIL" in announced(out)[0] and b"NIL" in flags_of(out, 1)
    # EXAMINE: FLAGS lists them, nothing is permanent.
    out = setup.ok("EXAMINE Box")
    flags, perm = announced(out)
    assert flags >= {b"$Old", b"$Work", b"$Fresh", b"NIL"} and perm == set()
    assert find(out, rb"^\* OK \[PERMANENTFLAGS \(\)\]")
    for c in (setup, a, b):
        c.close()


def test_condstore_enabling_command_sends_highestmodseq_once(server):
    setup = Session(server)
    setup.ok("CREATE Box")
    for _ in range(4):
        setup.append("Box")
    a = Session(server)
    a.ok("SELECT Box")
    out = a.ok("FETCH 1 (MODSEQ)")
    hms = find(out, rb"^\* OK \[HIGHESTMODSEQ \d+\]")
    assert len(hms) == 1, out
    assert not find(a.ok("FETCH 1 (MODSEQ)"), rb"HIGHESTMODSEQ")
    # SEARCH MODSEQ and STORE UNCHANGEDSINCE enable it too.
    b = Session(server)
    b.ok("SELECT Box")
    assert len(find(b.ok("SEARCH MODSEQ 1"), rb"^\* OK \[HIGHESTMODSEQ \d+\]")) == 1
    c = Session(server)
    c.ok("SELECT Box")
    assert len(find(c.ok("STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (\\Seen)"), rb"^\* OK \[HIGHESTMODSEQ")) == 1
    e = Session(server)
    e.ok("SELECT Box")
    assert len(find(e.ok("STATUS INBOX (HIGHESTMODSEQ)"), rb"^\* OK \[HIGHESTMODSEQ \d+\]")) == 1
    # CONDSTORE on: a flag change's FETCH carries MODSEQ (RFC 7162 3.1).
    assert find(e.ok("STORE 1 +FLAGS (\\Draft)"), rb"^\* 1 FETCH \(.*MODSEQ \(\d+\)")
    # Already enabled at SELECT: no second one.
    d = Session(server)
    d.ok("SELECT Box (CONDSTORE)")
    assert not find(d.ok("FETCH 1 (MODSEQ)"), rb"HIGHESTMODSEQ")
    for cl in (setup, a, b, c, d, e):
        cl.close()


def test_esearch_min_max_modseq_of_returned_messages(server):
    setup = Session(server)
    setup.ok("CREATE Box")
    for _ in range(4):
        setup.append("Box")
    a = Session(server)
    a.ok("SELECT Box (CONDSTORE)")
    modseq = {}
    for seq in (1, 3, 2, 4):  # message 2 changes after 3
        out = a.ok(f"STORE {seq} +FLAGS (\\Seen)")
        modseq[seq] = int(re.search(rb"MODSEQ \((\d+)\)", find(out, rb"^\* %d FETCH" % seq)[0]).group(1))

    def esearch(ret, rng):
        out = a.ok(f"SEARCH RETURN ({ret}) {rng} MODSEQ 1")
        ln = find(out, rb"^\* ESEARCH")
        assert len(ln) == 1, out
        return ln[0].split(b")", 1)[1].decode().strip()

    assert esearch("MIN", "1:3") == f"MIN 1 MODSEQ {modseq[1]}"
    assert esearch("MAX", "1:3") == f"MAX 3 MODSEQ {modseq[3]}"
    assert esearch("MIN MAX", "2:3") == f"MIN 2 MAX 3 MODSEQ {modseq[2]}"
    assert esearch("", "1:3") == f"ALL 1:3 MODSEQ {modseq[2]}"
    assert esearch("COUNT", "1:3") == f"COUNT 3 MODSEQ {modseq[2]}"
    setup.close()
    a.close()


def uidvalidity(m, folder):
    typ, data = m.status(folder, "(UIDVALIDITY)")
    assert typ == "OK", data
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


def imaps_login(server):
    m = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=server.server_hostname_context())
    m.login(ALICE, PASSWORD)
    return m


def test_uidvalidity_never_repeats_for_a_name_even_after_restart(server):
    m = imaps_login(server)
    seen = []

    def fresh(v):
        assert all(v > s for s in seen), (v, seen)
        seen.append(v)

    assert m.create("Box")[0] == "OK"
    m.append("Box", None, None, MSG)
    fresh(uidvalidity(m, "Box"))
    # DELETE + CREATE within the same second, a few times.
    for _ in range(3):
        assert m.delete("Box")[0] == "OK"
        assert m.create("Box")[0] == "OK"
        m.append("Box", None, None, MSG)
        fresh(uidvalidity(m, "Box"))
    # RENAME away + CREATE, then RENAME onto the name.
    assert m.rename("Box", "Away")[0] == "OK"
    fresh(uidvalidity(m, "Away"))
    assert m.create("Box")[0] == "OK"
    fresh(uidvalidity(m, "Box"))
    assert m.delete("Box")[0] == "OK"
    assert m.rename("Away", "Box")[0] == "OK"
    fresh(uidvalidity(m, "Box"))
    # Left unclaimed for the restart: it stays recent.
    assert m.select("Box")[0] == "OK"
    m.close()
    m.append("Box", None, None, MSG)
    keep = uidvalidity(m, "Box")
    sent = uidvalidity(m, "Sent")
    m.logout()
    server.stop()
    server.start()
    m = imaps_login(server)
    assert uidvalidity(m, "Box") == keep and uidvalidity(m, "Sent") == sent
    typ, data = m.status("Box", "(RECENT MESSAGES)")
    assert b"RECENT 1" in data[0] and b"MESSAGES 2" in data[0], data
    assert m.delete("Box")[0] == "OK"
    assert m.create("Box")[0] == "OK"
    fresh(uidvalidity(m, "Box"))
    m.logout()
