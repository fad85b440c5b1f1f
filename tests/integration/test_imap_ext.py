"""IMAP extensions through real clients: COMPRESS=DEFLATE (RFC 4978, zlib on
the client side), UNAUTHENTICATE (RFC 8437), OBJECTID (RFC 8474), SAVEDATE
(RFC 8514) and PREVIEW (RFC 8970), and an index from before them."""

import datetime
import imaplib
import os
import re
import socket
import sqlite3
import ssl
import time
import zlib

import pytest

from conftest import PASSWORD, add_users, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"

PLAIN = (b"From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: plain\r\n"
         b"Message-ID: <root@example.org>\r\n\r\n"
         b"  Hello Alice,\r\n\r\n\tthe meeting   moved to Tuesday.\r\n-- \r\nBob\r\n")
REPLY = (b"From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: Re: plain\r\n"
         b"Message-ID: <reply@example.test>\r\nIn-Reply-To: <root@example.org>\r\n"
         b"References: <root@example.org>\r\n\r\nFine by me.\r\n")
HTML = (b"From: News <news@example.org>\r\nSubject: html\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body>"
        b"<p>Fish &amp; chips</p><p>today&nbsp;only</p><script>x()</script></body></html>\r\n")
MULTI = (b"From: Carol <carol@example.org>\r\nSubject: multi\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
         b"--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
         b"--a\r\nContent-Type: text/html\r\n\r\n<b>html part</b>\r\n"
         b"--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 ouvert\r\n--a--\r\n"
         b"--m\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--m--\r\n")


class Imap:
    """A raw IMAPS client that can switch to DEFLATE after COMPRESS."""

    def __init__(self, server):
        ctx = server.server_hostname_context()
        sock = socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10)
        self.s = ctx.wrap_socket(sock)
        self.buf = b""
        self.n = 0
        self.deflate = self.inflate = None
        assert self.line().startswith(b"* OK")

    def send(self, data):
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += self.inflate.decompress(chunk) if self.inflate else chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = re.search(rb"\{(\d+)\}$", line)
        if m:  # a literal: its bytes and the rest of the line belong to it
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            line += self.line()
        return line

    def cmd(self, text, tag=None):
        """Sends one command; returns (untagged lines, tagged line)."""
        self.n += 1
        tag = tag or f"t{self.n}"
        self.send(f"{tag} {text}\r\n".encode() if isinstance(text, str) else tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return lines, line
            lines.append(line)

    def ok(self, text):
        lines, done = self.cmd(text)
        assert b" OK" in done, (text, lines, done)
        return lines, done

    def login(self, user=ALICE):
        return self.ok(f"LOGIN {user} {PASSWORD}")

    def compress(self):
        lines, done = self.cmd("COMPRESS DEFLATE")
        assert re.match(rb"t\d+ OK", done), done
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buf = self.inflate.decompress(self.buf)  # nothing normally

    def close(self):
        self.s.close()


def append(c, folder, msg, date=None):
    date_part = f' "{date}"' if date else ""
    c.send(f"a APPEND {folder} (){date_part} {{{len(msg)}+}}\r\n".encode() + msg + b"\r\n")
    _, done = c.until("a")
    assert b"OK" in done, done
    return int(re.search(rb"APPENDUID \d+ (\d+)", done).group(1))


def fetch_item(lines, name):
    """{uid: value} of one FETCH item from untagged FETCH lines (UID asked)."""
    out = {}
    for line in lines:
        m = re.search(rb"UID (\d+)", line)
        v = re.search(name.encode() + rb" (\([^)]*\)|NIL|\"(?:[^\"\\]|\\.)*\"|\{\d+\}\r\n)", line)
        if not (m and v):
            continue
        val = v.group(1)
        if val.startswith(b"{"):
            n = int(val[1:-3])
            start = v.end()
            val = line[start:start + n]
        out[int(m.group(1))] = val.decode()
    return out


@pytest.fixture
def two(instance):
    add_users([(instance, ALICE), (instance, BOB)])
    instance.start()
    return instance


# ---- COMPRESS=DEFLATE

def test_compress_deflate_round_trip(server):
    c = Imap(server)
    _, done = c.cmd("COMPRESS DEFLATE")
    assert b"BAD" in done  # only after login (RFC 4978)
    c.login()
    caps, _ = c.ok("CAPABILITY")
    assert b"COMPRESS=DEFLATE" in caps[0]
    big = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a long body\r\n" % i for i in range(20000))
    uid = append(c, "INBOX", big)
    c.compress()
    lines, _ = c.ok("SELECT INBOX")
    assert any(b"EXISTS" in l for l in lines)
    lines, _ = c.ok(f"UID FETCH {uid} BODY.PEEK[]")
    assert big in lines[0]
    _, done = c.cmd("COMPRESS DEFLATE")
    assert b"NO [COMPRESSIONACTIVE]" in done
    # Commands keep working both ways (every reply is flushed at once).
    for i in range(20):
        c.ok("NOOP")
    # IDLE: the continuation and a later EXISTS arrive without waiting for
    # more output to fill the compressor.
    c.send(b"i1 IDLE\r\n")
    assert c.line().startswith(b"+ ")
    other = Imap(server)
    other.login()
    append(other, "INBOX", PLAIN)
    other.close()
    assert re.match(rb"\* 2 EXISTS", c.line())
    c.send(b"DONE\r\n")
    _, done = c.until("i1")
    assert b"OK" in done
    c.ok("LOGOUT")
    c.close()


def test_compress_pipelined_and_unknown_mechanism(server):
    c = Imap(server)
    c.login()
    _, done = c.cmd("COMPRESS GZIP")
    assert b"NO" in done
    # A command pipelined right behind COMPRESS is already compressed.
    d = zlib.compressobj(6, zlib.DEFLATED, -15)
    c.s.sendall(b"z1 COMPRESS DEFLATE\r\n" + d.compress(b"z2 NOOP\r\n") + d.flush(zlib.Z_SYNC_FLUSH))
    assert re.match(rb"z1 OK", c.line())
    c.deflate, c.inflate = d, zlib.decompressobj(-15)
    c.buf = c.inflate.decompress(c.buf)
    _, done = c.until("z2")
    assert b"OK" in done
    c.ok("NOOP")
    c.close()


def test_compress_corrupt_stream_and_bomb(server):
    c = Imap(server)
    c.login()
    c.compress()
    c.s.sendall(b"\xff" * 64)  # reserved block type: not deflate
    with pytest.raises((ConnectionError, zlib.error, OSError)):
        for _ in range(5):
            c.line()
    c.close()
    # A bomb: 64 MiB of one line compress to ~64 KiB; the line limit counts
    # inflated bytes, so the server refuses it and stays small.
    c = Imap(server)
    c.login()
    c.compress()
    d = c.deflate
    chunk = b"a" * (1 << 20)
    for _ in range(64):
        try:
            c.s.sendall(d.compress(chunk))
        except OSError:
            break
    try:
        c.s.sendall(d.flush(zlib.Z_SYNC_FLUSH) + d.compress(b"\r\nb1 NOOP\r\n") + d.flush(zlib.Z_SYNC_FLUSH))
        lines, done = c.until("b1")
        assert any(b"BAD" in l for l in lines + [done])
    except (ConnectionError, OSError):
        pass  # closed for the oversized line: also fine
    c.close()
    rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{server.proc.pid}/status").read()).group(1))
    assert rss < 200 * 1024, f"server RSS {rss} KiB after a deflate bomb"
    c = Imap(server)
    c.login()
    c.close()


# ---- UNAUTHENTICATE

def test_unauthenticate_then_login_as_another_user(two):
    two.stop()
    two.set("imap", "max_connections_per_user_ip", "1")
    two.start()
    c = Imap(two)
    c.login(ALICE)
    append(c, "INBOX", PLAIN)
    c.ok("SELECT INBOX")
    caps, _ = c.ok("CAPABILITY")
    assert b"UNAUTHENTICATE" in caps[0]
    c.ok("UNAUTHENTICATE")
    _, done = c.cmd("SELECT INBOX")
    assert b"BAD" in done  # not authenticated any more
    _, done = c.cmd("UNAUTHENTICATE")
    assert b"BAD" in done
    # Alice's account+address slot (limit 1) was given back.
    other = Imap(two)
    other.login(ALICE)
    other.close()
    c.login(BOB)
    lines, _ = c.ok("SELECT INBOX")
    assert any(re.match(rb"\* 0 EXISTS", l) for l in lines)  # Bob's INBOX, not Alice's
    c.ok("UNAUTHENTICATE")
    c.login(ALICE)
    lines, _ = c.ok("SELECT INBOX")
    assert any(re.match(rb"\* 1 EXISTS", l) for l in lines)
    c.ok("LOGOUT")
    c.close()


def test_unauthenticate_with_compression_and_imaplib(server):
    c = Imap(server)
    c.login()
    c.compress()
    c.ok("UNAUTHENTICATE")
    c.login()  # compression stays on: the stream goes on deflated
    c.ok("SELECT INBOX")
    c.close()
    imaplib.Commands.setdefault("UNAUTHENTICATE", ("AUTH", "SELECTED"))
    m = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=server.server_hostname_context())
    m.login(ALICE, PASSWORD)
    m.select("INBOX")
    typ, _ = m._simple_command("UNAUTHENTICATE")
    assert typ == "OK"
    m.state = "NONAUTH"
    m.login(ALICE, PASSWORD)
    assert m.select("INBOX")[0] == "OK"
    m.logout()


# ---- OBJECTID

def mailboxid(lines_or_line):
    text = b" ".join(lines_or_line) if isinstance(lines_or_line, list) else lines_or_line
    m = re.search(rb"MAILBOXID \(([A-Za-z0-9_-]+)\)", text)
    return m and m.group(1).decode()


def test_mailboxid_create_select_status_rename(server):
    c = Imap(server)
    c.login()
    _, done = c.ok("CREATE Projects")
    created = mailboxid(done)
    assert created and re.fullmatch(r"[A-Za-z0-9_-]{1,255}", created)
    lines, _ = c.ok("SELECT Projects")
    assert mailboxid(lines) == created
    lines, _ = c.ok("STATUS Projects (MESSAGES MAILBOXID)")
    assert mailboxid(lines) == created
    lines, _ = c.ok("EXAMINE INBOX")
    inbox = mailboxid(lines)
    assert inbox and inbox != created
    c.ok("RENAME Projects Archive2024")
    lines, _ = c.ok("STATUS Archive2024 (MAILBOXID)")
    assert mailboxid(lines) == created  # survives RENAME
    lines, _ = c.ok('LIST "" "Arch*" RETURN (STATUS (MAILBOXID))')
    assert mailboxid(lines) == created
    c.ok("DELETE Archive2024")
    _, done = c.ok("CREATE Archive2024")
    assert mailboxid(done) not in (None, created)  # a new folder, a new id
    c.close()


def test_emailid_threadid_across_copy_and_move(server):
    c = Imap(server)
    c.login()
    c.ok("CREATE Keep")
    u1 = append(c, "INBOX", PLAIN)
    u2 = append(c, "INBOX", REPLY)
    u3 = append(c, "INBOX", HTML)
    u4 = append(c, "INBOX", PLAIN)  # the same bytes again: still another message
    c.ok("SELECT INBOX")
    lines, _ = c.ok("UID FETCH 1:* (EMAILID THREADID)")
    eid, tid = fetch_item(lines, "EMAILID"), fetch_item(lines, "THREADID")
    assert len(set(eid.values())) == 4
    assert all(re.fullmatch(r"\([A-Za-z0-9_-]+\)", v) for v in eid.values())
    assert tid[u1] == tid[u2] != tid[u3]  # the reply names the root in References
    c.ok(f"UID COPY {u1} Keep")
    c.ok(f"UID MOVE {u3} Keep")
    lines, _ = c.ok(f"UID SEARCH EMAILID {eid[u2][1:-1]}")
    assert lines[0].split()[2:] == [str(u2).encode()]
    lines, _ = c.ok(f"UID SEARCH THREADID {tid[u1][1:-1]}")
    assert sorted(int(x) for x in lines[0].split()[2:]) == sorted([u1, u2, u4])
    c.ok("SELECT Keep")
    lines, _ = c.ok("UID FETCH 1:* (EMAILID THREADID)")
    kept = fetch_item(lines, "EMAILID")
    assert sorted(kept.values()) == sorted([eid[u1], eid[u3]])  # stable across COPY and MOVE
    assert sorted(fetch_item(lines, "THREADID").values()) == sorted([tid[u1], tid[u3]])
    lines, _ = c.ok(f"UID SEARCH EMAILID {eid[u3][1:-1]}")
    assert len(lines[0].split()) == 3
    c.close()


# ---- SAVEDATE

def test_savedate_fetch_and_search(server):
    c = Imap(server)
    c.login()
    c.ok("CREATE Old")
    before = time.time()
    uid = append(c, "INBOX", PLAIN, date="01-Jan-2001 10:00:00 +0000")
    c.ok("SELECT INBOX")
    lines, _ = c.ok(f"UID FETCH {uid} (INTERNALDATE SAVEDATE)")
    assert b'INTERNALDATE "01-Jan-2001 10:00:00 +0000"' in lines[0]
    saved = re.search(rb'SAVEDATE "([^"]+)"', lines[0]).group(1).decode()
    when = datetime.datetime.strptime(saved, "%d-%b-%Y %H:%M:%S %z").timestamp()
    assert before - 2 <= when <= time.time() + 2
    today = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%d-%b-%Y")
    def search(q):
        lines, _ = c.ok(f"UID SEARCH {q}")
        return [int(x) for x in lines[0].split()[2:]]
    assert search(f"SAVEDSINCE {today}") == [uid]
    assert search(f"SAVEDON {today}") == [uid]
    assert search("SAVEDBEFORE 1-Jan-2002") == []
    assert search("SINCE 1-Jan-2002") == []  # the internal date is 2001
    assert search("SAVEDATESUPPORTED") == [uid]
    assert search(f"OR SAVEDBEFORE 1-Jan-2002 NOT SAVEDSINCE {today}") == []
    # A copy's save date is when it entered its new folder.
    c.ok(f"UID COPY {uid} Old")
    c.ok("SELECT Old")
    lines, _ = c.ok("FETCH 1 (SAVEDATE INTERNALDATE)")
    assert b"SAVEDATE" in lines[0] and b"2001" not in lines[0].split(b"SAVEDATE")[1].split(b"INTERNALDATE")[0]
    _, done = c.cmd("SEARCH SAVEDSINCE 32-Jan-2020")
    assert b"BAD" in done
    c.close()


# ---- PREVIEW

def test_preview_plain_html_multipart(server):
    c = Imap(server)
    c.login()
    caps, _ = c.ok("CAPABILITY")
    for cap in (b"PREVIEW", b"OBJECTID", b"SAVEDATE"):
        assert cap in caps[0].split()
    up = append(c, "INBOX", PLAIN)
    uh = append(c, "INBOX", HTML)
    um = append(c, "INBOX", MULTI)
    ul = append(c, "INBOX", b"Subject: long\r\n\r\n" + b"word " * 200)
    ue = append(c, "INBOX", b"Subject: empty\r\n\r\n")
    c.ok("SELECT INBOX")
    lines, _ = c.ok("UID FETCH 1:* (PREVIEW)")
    pv = fetch_item(lines, "PREVIEW")
    assert pv[up] == '"Hello Alice, the meeting moved to Tuesday. -- Bob"'
    assert pv[uh] == '"Fish & chips today only"'
    assert pv[um] == "Caf\u00e9 ouvert"  # a literal: UTF-8
    assert pv[ul].startswith('"word word') and len(pv[ul]) == 2 + 199  # 200 characters, a last blank trimmed
    assert pv[ue] == '""'
    lines, _ = c.ok("UID FETCH 1:* (UID PREVIEW (LAZY) FLAGS)")
    assert fetch_item(lines, "PREVIEW") == pv  # computed at delivery: LAZY has it too
    lines, _ = c.ok(f"UID FETCH {up} PREVIEW (CHANGEDSINCE 1)")
    # CHANGEDSINCE turns CONDSTORE on: OK [HIGHESTMODSEQ] may come first.
    assert any(b"PREVIEW" in line for line in lines), lines
    _, done = c.cmd("FETCH 1 (PREVIEW (EAGER))")
    assert b"BAD" in done
    c.close()


# ---- an index made before these extensions

def test_index_from_older_version_is_upgraded(server):
    c = Imap(server)
    c.login()
    uid = append(c, "INBOX", PLAIN)
    uid2 = append(c, "INBOX", REPLY)
    c.ok("CREATE Later")
    c.close()
    server.stop()
    path = os.path.join(server.maildir(ALICE), "mailfort-index.sqlite")
    st = os.stat(path)
    db = sqlite3.connect(path)
    # The schema and cache blobs of the version before OBJECTID/SAVEDATE/PREVIEW.
    db.executescript(
        "DROP TRIGGER folder_mailboxid;"
        "DROP TRIGGER message_ids;"
        "ALTER TABLE folder DROP COLUMN mailboxid;"
        "ALTER TABLE message DROP COLUMN emailid;"
        "ALTER TABLE message DROP COLUMN savedate;")
    for folder, u, blob in db.execute("SELECT folder, uid, cache FROM message").fetchall():
        old = b"\0".join(bytes(blob).split(b"\0")[:3])
        db.execute("UPDATE message SET cache = ? WHERE folder = ? AND uid = ?", (old, folder, u))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for f in os.listdir(os.path.dirname(path)):
        if f.startswith("mailfort-index"):
            os.chown(os.path.join(os.path.dirname(path), f), st.st_uid, st.st_gid)
    server.start()
    c = Imap(server)
    c.login()
    lines, _ = c.ok("SELECT INBOX")
    assert mailboxid(lines)
    lines, _ = c.ok("UID FETCH 1:* (EMAILID SAVEDATE PREVIEW (LAZY) BODYSTRUCTURE)")
    assert len(set(fetch_item(lines, "EMAILID").values())) == 2
    assert all(v != "NIL" for v in fetch_item(lines, "SAVEDATE").values())
    assert fetch_item(lines, "PREVIEW") == {uid: "NIL", uid2: "NIL"}  # LAZY: not computed yet
    assert all(b'BODYSTRUCTURE ("text" "plain"' in l for l in lines)
    lines, _ = c.ok("UID FETCH 1:* (PREVIEW THREADID)")
    assert fetch_item(lines, "PREVIEW")[uid2] == '"Fine by me."'
    t = fetch_item(lines, "THREADID")
    assert t[uid] == t[uid2] != "NIL"
    lines, _ = c.ok("UID FETCH 1:* (PREVIEW (LAZY))")  # kept now
    assert fetch_item(lines, "PREVIEW")[uid2] == '"Fine by me."'
    _, done = c.ok("CREATE Newer")
    assert mailboxid(done)
    lines, _ = c.ok("STATUS Later (MAILBOXID)")
    assert mailboxid(lines)
    c.close()
