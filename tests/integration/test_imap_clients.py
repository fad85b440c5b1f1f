"""IMAP against real clients and real failure: mbsync (isync) two-way sync
with a local Maildir++ store, crash safety under concurrent APPEND / SMTP
delivery / STORE / EXPUNGE with SIGKILL, IDLE across sessions while a third
client MOVEs, and a Thunderbird-like command sequence checked on the wire."""

import imaplib
import os
import random
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import PASSWORD

ALICE = "alice@example.test"
MBSYNC = shutil.which("mbsync")


# ---------------------------------------------------------------- helpers

def imaps(server, timeout=10):
    return imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=server.server_hostname_context(),
                             timeout=timeout)


def login(server, timeout=10):
    m = imaps(server, timeout)
    m.login(ALICE, PASSWORD)
    return m


def make_msg(mid, subject=None, body=None):
    subject = subject or f"message {mid}"
    body = body or f"Body of {mid}.\r\nSecond line.\r\n"
    return (f"From: Bob <bob@example.org>\r\nTo: Alice <{ALICE}>\r\nSubject: {subject}\r\n"
            f"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\nMessage-ID: <{mid}@example.org>\r\n"
            f"\r\n{body}").encode()


def deliver(server, mid, s=None):
    own = s is None
    if own:
        s = server.smtp("mx")
    s.sendmail("bob@example.org", [ALICE], make_msg(mid))
    if own:
        s.quit()


def message_id(raw):
    m = re.search(rb"^Message-ID:\s*<([^>]+)@", raw, re.I | re.M)
    return m.group(1).decode() if m else None


def fetch_all(m, folder, items="(UID FLAGS BODY.PEEK[])"):
    """{uid: (flags:set, body)} of a folder, read-only (EXAMINE)."""
    typ, data = m.select(f'"{folder}"', readonly=True)
    assert typ == "OK", (folder, data)
    exists = int(data[0])
    out = {}
    if exists:
        typ, data = m.uid("FETCH", "1:*", items)
        assert typ == "OK", data
        for part in data:
            if not isinstance(part, tuple):
                continue
            head = part[0].decode()
            uid = int(re.search(r"UID (\d+)", head).group(1))
            flags = set(re.search(r"FLAGS \(([^)]*)\)", head).group(1).split())
            out[uid] = (flags, part[1])
    return exists, out


def folder_dir(server, name):
    base = server.maildir(ALICE)
    return base if name == "INBOX" else os.path.join(base, "." + name.replace(".", "%2E").replace("/", "."))


def files_on_disk(server, name):
    d = folder_dir(server, name)
    return sum(len(os.listdir(os.path.join(d, sub))) for sub in ("cur", "new") if os.path.isdir(os.path.join(d, sub)))


# ---------------------------------------------------------------- 1. mbsync

MAILDIR_FLAG = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Deleted": "T", "\\Draft": "D"}
STATE_FILES = (".mbsyncstate", ".uidvalidity", ".isyncuidmap.db")


def normalize(raw):
    """What must be equal on both sides: mbsync stores LF line ends locally
    and tags copies with an X-TUID header."""
    text = raw.replace(b"\r\n", b"\n")
    head, sep, rest = text.partition(b"\n\n")
    head = b"\n".join(l for l in head.split(b"\n") if not l.lower().startswith(b"x-tuid:"))
    return head + sep + rest


def server_state(server):
    """{folder: {message-id: (maildir flags, normalized body)}}"""
    m = login(server)
    names = []
    for line in m.list()[1]:
        names.append(re.search(rb'"/" "?([^"]*)"?$', line).group(1).decode())
    out = {}
    for name in names:
        exists, msgs = fetch_all(m, name)
        assert exists == len(msgs)
        out[name] = {message_id(body): ("".join(sorted(MAILDIR_FLAG[f] for f in flags if f in MAILDIR_FLAG)),
                                        normalize(body)) for flags, body in msgs.values()}
        assert len(out[name]) == exists, f"duplicate Message-IDs in {name}"
    m.logout()
    return out


def local_folders(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.isdir(os.path.join(dirpath, "cur")):
            rel = os.path.relpath(dirpath, root)
            out["INBOX" if rel == "INBOX" else rel] = dirpath
    return out


def local_state(root):
    out = {}
    for name, d in local_folders(root).items():
        msgs = {}
        for sub in ("cur", "new"):
            for f in os.listdir(os.path.join(d, sub)):
                raw = open(os.path.join(d, sub, f), "rb").read()
                flags = f.split(":2,", 1)[1] if ":2," in f else ""
                mid = message_id(raw)
                assert mid not in msgs, f"duplicate {mid} in local {name}"
                msgs[mid] = ("".join(sorted(flags)), normalize(raw))
        out[name] = msgs
    return out


def find_local(folder, mid):
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(folder, sub)):
            if message_id(open(os.path.join(folder, sub, f), "rb").read()) == mid:
                return sub, f
    raise AssertionError(f"{mid} not in {folder}")


def local_files(root):
    """Every message file's path (names carry the flags) for the no-op check."""
    out = set()
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            if not f.startswith(STATE_FILES):
                out.add(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def server_status(server):
    m = login(server)
    out = {}
    for line in m.list()[1]:
        name = re.search(rb'"/" "?([^"]*)"?$', line).group(1).decode()
        out[name] = m.status(f'"{name}"', "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ UNSEEN)")[1][0]
    m.logout()
    return out


class Mbsync:
    def __init__(self, server, tmp):
        self.server, self.tmp = server, tmp
        self.root = os.path.join(tmp, "mail")
        os.makedirs(self.root)
        pw = os.path.join(tmp, "password")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        self.rc = os.path.join(tmp, "mbsyncrc")
        # The instance certificate is self-signed: as a CertificateFile "host"
        # certificate it is pinned (the received certificate must equal it),
        # so the connection by IP is verified without any name trick.
        with open(self.rc, "w") as f:
            f.write(f"""IMAPAccount mailfort
Host 127.0.0.1
Port {server.ports['imaps']}
User {ALICE}
PassCmd "cat {pw}"
SSLType IMAPS
SystemCertificates no
CertificateFile {server.cert}
Timeout 20

IMAPStore remote
Account mailfort

MaildirStore local
Path {self.root}/
Inbox {self.root}/INBOX
SubFolders Verbatim

Channel mailfort
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def run(self):
        env = dict(os.environ, HOME=self.tmp)
        r = subprocess.run([MBSYNC, "-V", "-c", self.rc, "-a"], capture_output=True, text=True, timeout=60,
                           env=env)
        assert r.returncode == 0, f"mbsync failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        assert "rror" not in r.stderr and "arning" not in r.stderr, r.stderr
        return r.stdout + r.stderr


def assert_converged(server, root):
    remote, local = server_state(server), local_state(root)
    assert sorted(remote) == sorted(local), (sorted(remote), sorted(local))
    for name in remote:
        assert sorted(remote[name]) == sorted(local[name]), (name, sorted(remote[name]), sorted(local[name]))
        for mid in remote[name]:
            assert remote[name][mid][0] == local[name][mid][0], (name, mid, remote[name][mid][0],
                                                                   local[name][mid][0])
            assert remote[name][mid][1] == local[name][mid][1], (name, mid)
    return remote


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_mbsync_two_way_sync(server):
    tmp = tempfile.mkdtemp(prefix="mbsync-")
    try:
        _mbsync_scenario(server, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _mbsync_scenario(server, tmp):
    m = login(server)
    assert m.create("Archive/2024")[0] == "OK"
    m.logout()
    for i in range(3):
        deliver(server, f"in{i}")
    m = login(server)
    assert m.append("Sent", "(\\Seen)", None, make_msg("sent0"))[0] == "OK"
    assert m.append("Sent", "(\\Seen \\Answered)", None, make_msg("sent1"))[0] == "OK"
    assert m.append("Archive/2024", "(\\Seen \\Flagged)", None, make_msg("arch0"))[0] == "OK"
    assert m.append("Archive/2024", None, None, make_msg("arch1", body="x" * 5000 + "\r\n"))[0] == "OK"
    # A name with a space, a dot and non-ASCII (modified UTF-7 on the wire), and
    # 8-bit content without a final line end.
    assert m.create('"Entw&APw-rfe v1.2"')[0] == "OK"
    eight = make_msg("draft0", subject="=?UTF-8?Q?Entw=C3=BCrfe?=").replace(b"Body of", "Gr\u00fc\u00dfe,".encode())
    assert m.append('"Entw&APw-rfe v1.2"', "(\\Draft)", None, eight.rstrip(b"\r\n"))[0] == "OK"
    m.logout()

    sync = Mbsync(server, tmp)
    sync.run()
    state = assert_converged(server, sync.root)
    assert sorted(state["INBOX"]) == ["in0", "in1", "in2"]
    assert sorted(state["Sent"]) == ["sent0", "sent1"] and state["Sent"]["sent1"][0] == "RS"
    assert sorted(state["Archive/2024"]) == ["arch0", "arch1"] and state["Archive/2024"]["arch0"][0] == "FS"
    assert os.path.isdir(os.path.join(sync.root, "Archive", "2024", "cur"))
    assert sorted(state["Entw&APw-rfe v1.2"]) == ["draft0"]

    # Local changes: a new message, a flag (maildir rename), a deletion.
    folders = local_folders(sync.root)
    new_name = f"{int(time.time())}.{os.getpid()}_1.localhost"
    with open(os.path.join(folders["Archive/2024"], "new", new_name), "wb") as f:
        f.write(make_msg("local0").replace(b"\r\n", b"\n"))
    sub, victim = find_local(folders["INBOX"], "in1")
    base, _, flags = victim.partition(":2,")
    os.rename(os.path.join(folders["INBOX"], sub, victim),
              os.path.join(folders["INBOX"], "cur", base + ":2," + "".join(sorted(set(flags) | {"F"}))))
    sub, gone = find_local(folders["Sent"], "sent0")
    os.unlink(os.path.join(folders["Sent"], sub, gone))
    notes = os.path.join(sync.root, "Notes")  # top level: CREATE "A/B" would also create "A" remotely
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(notes, sub))
    big = make_msg("local1", body=("0123456789abcdef" * 8 + "\r\n") * 2400)  # ~310 KB
    with open(os.path.join(notes, "cur", f"{int(time.time())}.{os.getpid()}_2.localhost:2,S"), "wb") as f:
        f.write(big.replace(b"\r\n", b"\n"))

    # Remote changes: a delivery, a flag, a new folder with a message.
    deliver(server, "in3")
    m = login(server)
    m.select("Archive/2024")
    uid = [u for u, (fl, b) in fetch_all(m, "Archive/2024")[1].items() if message_id(b) == "arch1"][0]
    m.select("Archive/2024")
    assert m.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")[0] == "OK"
    uid = [u for u, (fl, b) in fetch_all(m, "INBOX")[1].items() if message_id(b) == "in0"][0]
    m.select("INBOX")
    m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
    assert m.expunge()[0] == "OK"
    assert m.create("Projects/Q3")[0] == "OK"
    assert m.append("Projects/Q3", "(\\Draft)", None, make_msg("proj0"))[0] == "OK"
    m.logout()

    sync.run()
    state = assert_converged(server, sync.root)
    assert sorted(state["INBOX"]) == ["in1", "in2", "in3"]
    assert "F" in state["INBOX"]["in1"][0]
    assert sorted(state["Sent"]) == ["sent1"]
    assert sorted(state["Archive/2024"]) == ["arch0", "arch1", "local0"]
    assert state["Archive/2024"]["arch1"][0] == "F"
    assert sorted(state["Projects/Q3"]) == ["proj0"] and state["Projects/Q3"]["proj0"][0] == "D"
    assert sorted(state["Notes"]) == ["local1"] and state["Notes"]["local1"][0] == "S"

    # A third run has nothing to do: no file renamed, nothing on the server.
    before_files, before_status = local_files(sync.root), server_status(server)
    sync.run()
    assert local_files(sync.root) == before_files
    assert server_status(server) == before_status
    assert_converged(server, sync.root)


# ---------------------------------------------------------------- 2. crash safety

class Ledger:
    """What the server acknowledged, across rounds of kill -9."""

    def __init__(self):
        self.lock = threading.Lock()
        self.appended = {}        # (folder, uid) -> body, APPEND answered OK [APPENDUID]
        self.per_conn = []        # lists of (folder, uid) in the order one connection got them
        self.delivered = set()    # Message-IDs answered 250
        self.deleting = set()     # (folder, uid) for which a deletion was sent
        self.expunged = set()     # (folder, uid) whose UID EXPUNGE answered OK
        self.errors = []          # unexpected client-side failures
        self.flagged = set()      # (folder, uid) whose STORE +FLAGS \Flagged answered OK
        self.validity = {}        # folder -> UIDVALIDITY
        self.seen = {}            # (folder, uid) -> body ever observed

    def ack_append(self, folder, data, body, order):
        v, uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", data[0]).groups())
        with self.lock:
            assert self.validity.setdefault(folder, v) == v, "UIDVALIDITY changed"
            assert (folder, uid) not in self.appended, f"UID {uid} in {folder} handed out twice"
            self.appended[(folder, uid)] = body
            order.append((folder, uid))
        return uid


def guarded(ledger, fn, *args):
    """Thread body: an unexpected failure is recorded for the test to report."""
    def run():
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902 - reported by the test thread
            ledger.errors.append(f"{fn.__name__}: {e!r}")
            for a in args:
                if isinstance(a, threading.Barrier):
                    a.abort()  # the test thread stops waiting for this worker
    return threading.Thread(target=run)


def append_worker(server, ledger, folder, tag, stop, ready):
    order = []
    ledger.per_conn.append(order)
    m = login(server, timeout=5)
    ready.wait()
    try:
        for i in range(10_000):
            if stop.is_set():
                break
            body = make_msg(f"{tag}-{i}", body=f"{tag}-{i} " * (1 + i % 40) + "\r\n")
            typ, data = m.append(folder, "(\\Seen)" if i % 3 == 0 else None, None, body)
            assert typ == "OK", data
            ledger.ack_append(folder, data, body, order)
    except (imaplib.IMAP4.abort, OSError, EOFError):
        pass  # the server was killed


def smtp_worker(server, ledger, tag, stop, ready):
    s = server.smtp("mx", timeout=5)
    ready.wait()
    try:
        for i in range(10_000):
            if stop.is_set():
                break
            mid = f"{tag}-{i}"
            s.sendmail("bob@example.org", [ALICE], make_msg(mid))  # raises unless 250
            with ledger.lock:
                ledger.delivered.add(mid)
    except (smtplib.SMTPServerDisconnected, OSError, EOFError):
        pass  # the server was killed
    except smtplib.SMTPException as e:
        ledger.errors.append(f"{tag}: {e!r}")


def store_expunge_worker(server, ledger, tag, stop, ready):
    """Appends to Scratch, then flags every other message and expunges the rest."""
    order = []
    ledger.per_conn.append(order)
    m = login(server, timeout=5)
    m.select("Scratch")
    ready.wait()
    try:
        for i in range(10_000):
            if stop.is_set():
                break
            body = make_msg(f"{tag}-{i}")
            typ, data = m.append("Scratch", None, None, body)
            assert typ == "OK", data
            uid = ledger.ack_append("Scratch", data, body, order)
            if i % 2:
                typ, data = m.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")
                assert typ == "OK", data
                with ledger.lock:
                    ledger.flagged.add(("Scratch", uid))
            else:
                with ledger.lock:
                    ledger.deleting.add(("Scratch", uid))
                typ, data = m.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
                assert typ == "OK", data
                typ, data = m.uid("EXPUNGE", str(uid))
                assert typ == "OK", data
                with ledger.lock:
                    ledger.expunged.add(("Scratch", uid))
    except (imaplib.IMAP4.abort, OSError, EOFError):
        pass


def reader_worker(server, stop, ready):
    """Keeps INBOX selected and polling, so imports of new/ race with the rest."""
    m = login(server, timeout=5)
    m.select("INBOX")
    ready.wait()
    try:
        while not stop.is_set():
            m.noop()
            m.fetch("1:*", "(FLAGS)")
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError, EOFError):
        pass


CRASH_FOLDERS = ("INBOX", "Archive", "Scratch")


def verify_after_restart(server, ledger):
    m = login(server)
    found = {}
    for folder in CRASH_FOLDERS:
        typ, data = m.select(folder)
        assert typ == "OK"
        m.noop()  # imports whatever is still in new/
        exists, msgs = fetch_all(m, folder)
        status = m.status(folder, "(MESSAGES UIDNEXT UIDVALIDITY)")[1][0].decode()
        uidnext = int(re.search(r"UIDNEXT (\d+)", status).group(1))
        validity = int(re.search(r"UIDVALIDITY (\d+)", status).group(1))
        assert ledger.validity.setdefault(folder, validity) == validity, "UIDVALIDITY changed across the crash"
        # Index and files agree: every indexed message has its file (FETCH
        # returned its body), every file is indexed.
        assert exists == len(msgs), f"{folder}: {exists} EXISTS but {len(msgs)} bodies"
        on_disk = files_on_disk(server, folder)
        assert on_disk == exists, f"{folder}: {on_disk} files, {exists} indexed"
        assert os.listdir(os.path.join(folder_dir(server, folder), "new")) == []
        ever = [u for (f, u) in list(ledger.appended) + list(ledger.seen) if f == folder]
        assert uidnext > max(ever + list(msgs) + [0]), f"{folder}: UIDNEXT {uidnext} not above used UIDs"
        for uid, (flags, body) in msgs.items():
            prev = ledger.seen.setdefault((folder, uid), body)
            assert prev == body, f"{folder} UID {uid} reused for another message"
        found[folder] = msgs
    # Every acknowledged APPEND is there, under its UID, with its content.
    for (folder, uid), body in ledger.appended.items():
        if (folder, uid) in ledger.expunged:
            assert uid not in found[folder], f"expunged UID {uid} came back in {folder}"
            continue
        if (folder, uid) in ledger.deleting and uid not in found[folder]:
            continue  # STORE \Deleted / EXPUNGE in flight at the kill: either outcome is fine
        assert uid in found[folder], f"acknowledged APPEND UID {uid} missing from {folder}"
        assert found[folder][uid][1] == body, f"{folder} UID {uid}: content differs"
        if (folder, uid) in ledger.flagged:
            assert "\\Flagged" in found[folder][uid][0], f"acknowledged \\Flagged lost on UID {uid}"
    # Every acknowledged delivery is in INBOX exactly once.
    mids = [message_id(b) for _, b in found["INBOX"].values()]
    for mid in ledger.delivered:
        assert mids.count(mid) == 1, f"delivery {mid} found {mids.count(mid)} times"
    # UIDs handed to one connection grow strictly.
    for order in ledger.per_conn:
        for (f1, u1), (f2, u2) in zip(order, order[1:]):
            if f1 == f2:
                assert u2 > u1, f"UIDs not increasing in {f1}: {u1} then {u2}"
    m.logout()


def test_crash_safety_under_concurrent_writes(server):
    m = login(server)
    for folder in ("Archive", "Scratch"):
        assert m.create(folder)[0] == "OK"
    m.logout()
    ledger = Ledger()
    rng = random.Random(20240305)
    rounds = 3
    for rnd in range(rounds):
        stop = threading.Event()
        ready = threading.Barrier(8, timeout=30)  # the workers are connected and logged in
        workers = [
            guarded(ledger, append_worker, server, ledger, "INBOX", f"r{rnd}a0", stop, ready),
            guarded(ledger, append_worker, server, ledger, "INBOX", f"r{rnd}a1", stop, ready),
            guarded(ledger, append_worker, server, ledger, "Archive", f"r{rnd}a2", stop, ready),
            guarded(ledger, smtp_worker, server, ledger, f"r{rnd}s0", stop, ready),
            guarded(ledger, smtp_worker, server, ledger, f"r{rnd}s1", stop, ready),
            guarded(ledger, store_expunge_worker, server, ledger, f"r{rnd}x", stop, ready),
            guarded(ledger, reader_worker, server, stop, ready),
        ]
        for w in workers:
            w.start()
        ready.wait()
        time.sleep(rng.uniform(0.3, 1.2))  # the kill lands at a (seeded) random moment of the load
        server.kill()
        stop.set()
        for w in workers:
            w.join(timeout=15)
            assert not w.is_alive(), "a client hung after the server was killed"
        assert ledger.errors == []
        server.start()
        verify_after_restart(server, ledger)
    assert len(ledger.appended) > 30 and len(ledger.delivered) > 10, (len(ledger.appended), len(ledger.delivered))
    # Still serving: new UIDs are above everything ever handed out.
    m = login(server)
    typ, data = m.append("INBOX", None, None, make_msg("after-crash"))
    new_uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
    assert new_uid > max(u for (f, u) in list(ledger.appended) + list(ledger.seen) if f == "INBOX")
    m.logout()
    deliver(server, "after-crash-smtp")


# ---------------------------------------------------------------- raw wire client

def well_formed(line):
    """Checks one response (literals already cut out) for balanced quoting and
    parentheses and well-formed UIDPLUS response codes."""
    s = line.decode("utf-8", "replace")
    assert re.match(r"^(\* |\+|[A-Za-z0-9.]+ (OK|NO|BAD) )", s), s
    depth, i = 0, 0
    while i < len(s):
        c = s[i]
        if c == '"':
            i += 1
            while s[i] != '"':  # IndexError: unterminated string
                i += 2 if s[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            assert depth >= 0, s
        i += 1
    assert depth == 0, s
    for m in re.finditer(r"\[(COPYUID|APPENDUID)( [^\]]*)?\]", s):
        pattern = r" \d+ [\d:,]+ [\d:,]+" if m.group(1) == "COPYUID" else r" \d+ [\d:,]+"
        assert m.group(2) and re.fullmatch(pattern, m.group(2)), f"malformed response code: {s}"


class Wire:
    """A raw IMAP connection that reads whole responses, literals included."""

    def __init__(self, server):
        s = socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10)
        self.sock = server.server_hostname_context().wrap_socket(s)
        self.f = self.sock.makefile("rb")
        self.n = 0
        self.greeting, _ = self.response()
        assert self.greeting.startswith(b"* OK")

    def response(self):
        """(text, literals): the text has each literal replaced by {n}."""
        text, lits = b"", []
        while True:
            line = self.f.readline()
            assert line.endswith(b"\r\n"), f"truncated response: {text + line!r}"
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if not m:
                text += line[:-2]
                break
            size = int(m.group(1))
            data = self.f.read(size)
            assert len(data) == size
            lits.append(data)
            text += line[:m.start()] + b"{%d}" % size
        well_formed(text)
        return text, lits

    def send(self, data):
        self.sock.sendall(data)

    def command(self, text, expect="OK"):
        self.n += 1
        tag = f"W{self.n}"
        self.send(f"{tag} {text}\r\n".encode())
        untagged = []
        while True:
            line, lits = self.response()
            if line.startswith(tag.encode() + b" "):
                status = line.split(b" ")[1].decode()
                if expect:
                    assert status in expect.split("|"), f"{text}: {line!r}"
                return line, untagged
            assert line.startswith(b"* "), f"{text}: unexpected {line!r}"
            untagged.append((line, lits))

    def login(self):
        self.command(f'LOGIN "{ALICE}" "{PASSWORD}"')
        return self

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def untagged_matching(untagged, pattern):
    return [(l, lits) for l, lits in untagged if re.search(pattern, l)]


# ---------------------------------------------------------------- 3. IDLE, MOVE, expunged meanwhile

def idle_begin(w):
    w.n += 1
    tag = f"W{w.n}"
    w.send(f"{tag} IDLE\r\n".encode())
    line, _ = w.response()
    assert line.startswith(b"+"), line
    return tag


def idle_expect(w, pattern, timeout=5):
    """Reads IDLE updates until one matches; returns everything read."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line, _ = w.response()
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no {pattern!r} in {seen}")


def idle_end(w, tag):
    w.send(b"DONE\r\n")
    extra = []
    while True:
        line, _ = w.response()
        if line.startswith(tag.encode()):
            assert line.startswith(tag.encode() + b" OK"), line
            return extra
        extra.append(line)


def mids_of(w, folder):
    w.command(f'EXAMINE "{folder}"')
    _, untagged = w.command("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])", expect="OK|NO|BAD")
    return [message_id(lits[0]) for l, lits in untagged if b"FETCH" in l]


def test_idle_sessions_see_moves_and_fetch_of_expunged(server):
    for i in range(3):
        deliver(server, f"idle{i}")
    c = Wire(server).login()
    c.command('CREATE "Archive"')
    a, b = Wire(server).login(), Wire(server).login()
    a.command('SELECT "INBOX"')
    b.command('SELECT "Archive"')
    ta, tb = idle_begin(a), idle_begin(b)

    # C moves INBOX's first message to Archive: A sees it go, B sees it come.
    c.command('SELECT "INBOX"')
    _, u = c.command("FETCH 1 (UID)")
    uid0 = int(re.search(rb"UID (\d+)", u[0][0]).group(1))
    line, u = c.command(f'UID MOVE {uid0} "Archive"')
    assert untagged_matching(u, rb"^\* OK \[COPYUID \d+ %d 1\]" % uid0), u
    assert untagged_matching(u, rb"^\* 1 EXPUNGE$"), u
    idle_expect(a, rb"^\* 1 EXPUNGE$")
    idle_expect(b, rb"^\* 1 EXISTS$")

    # And back: A sees a new message, B the expunge.
    c.command('SELECT "Archive"')
    c.command('MOVE 1 "INBOX"')
    idle_expect(a, rb"^\* 3 EXISTS$")
    idle_expect(b, rb"^\* 1 EXPUNGE$")
    idle_end(a, ta)
    idle_end(b, tb)
    assert mids_of(a, "INBOX") == ["idle1", "idle2", "idle0"]
    assert mids_of(b, "Archive") == []

    # D's view still has a message that C expunges; D then uses it before
    # any NOOP. The server may answer NO or OK without (or with correct)
    # data, but never garbage, and must report the EXPUNGE at the next NOOP.
    d = Wire(server).login()
    d.command('SELECT "INBOX"')
    _, u = d.command("FETCH 1 (UID)")
    victim = int(re.search(rb"UID (\d+)", u[0][0]).group(1))
    c.command('SELECT "INBOX"')
    c.command(f"UID STORE {victim} +FLAGS.SILENT (\\Deleted)")
    c.command(f"UID EXPUNGE {victim}")
    for cmd in ("FETCH 1 (FLAGS BODY[])", f"UID FETCH {victim} (BODY.PEEK[] ENVELOPE BODYSTRUCTURE)",
                "FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER])", "FETCH 1 (BINARY.PEEK[1] RFC822.TEXT)",
                "SEARCH BODY idle", "STORE 1 +FLAGS (\\Seen)", 'COPY 1 "Archive"', f'UID COPY {victim} "Archive"',
                f'UID MOVE {victim} "Archive"'):
        line, u = d.command(cmd, expect="OK|NO")
        for l, lits in u:
            seq = re.match(rb"^\* (\d+) FETCH", l)
            for lit in lits:  # data, if any, is the right message's
                assert seq and message_id(lit) in (None, {1: "idle1", 2: "idle2", 3: "idle0"}[int(seq.group(1))])
            assert not re.match(rb"^\* \d+ EXPUNGE", l), f"EXPUNGE during {cmd}"  # RFC 9051 7.5.1
    _, u = d.command("STATUS \"Archive\" (MESSAGES)")
    assert untagged_matching(u, rb"MESSAGES 0\)"), u  # nothing was copied from the gone message
    _, u = d.command("NOOP")
    assert untagged_matching(u, rb"^\* 1 EXPUNGE$"), u
    assert mids_of(d, "INBOX") == ["idle2", "idle0"]
    for w in (a, b, c, d):
        w.command("LOGOUT")
        w.close()
    login(server).logout()


# ---------------------------------------------------------------- 4. Thunderbird on the wire

TB_HEADERS = ("From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
              "Content-Type Reply-To")


def test_thunderbird_like_sequence(server):
    deliver(server, "tb0")
    s = server.smtp("mx")
    s.sendmail("bob@example.org", [ALICE],
               b"From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nCc: dave@example.org\r\n"
               b"Subject: re: (plans) \"quoted\" {5}\r\nX-Priority: 1\r\nReferences: <tb0@example.org>\r\n"
               b"In-Reply-To: <tb0@example.org>\r\nMessage-ID: <tb1@example.org>\r\nX-Other: not asked\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody {3}\r\n)\r\n")
    s.quit()
    m = login(server)
    m.create("Lists/dev")
    m.subscribe("Lists/dev")
    m.logout()

    w = Wire(server)
    _, u = w.command('ID ("name" "Thunderbird" "version" "115.3.1")')
    assert untagged_matching(u, rb"^\* ID ")
    _, u = w.command("CAPABILITY")
    caps = untagged_matching(u, rb"^\* CAPABILITY ")[0][0].split()
    assert b"IMAP4rev1" in caps and b"IDLE" in caps
    w.login()
    _, u = w.command('ID ("name" "Thunderbird" "version" "115.3.1")')
    _, u = w.command("CAPABILITY")
    caps = untagged_matching(u, rb"^\* CAPABILITY ")[0][0].split()
    for cap in (b"CONDSTORE", b"LIST-EXTENDED", b"SPECIAL-USE", b"UIDPLUS", b"MOVE"):
        assert cap in caps

    _, u = w.command('LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN SPECIAL-USE)')
    listed = {}
    for l, _ in u:
        m_ = re.match(rb'^\* LIST \(([^)]*)\) "/" "?([^"]*)"?$', l)
        assert m_, l
        listed[m_.group(2).decode()] = set(m_.group(1).decode().split())
    assert set(listed) == {"INBOX", "Sent", "Drafts", "Trash", "Spam", "Lists/dev"}, listed
    for name, attrs in listed.items():
        assert "\\Subscribed" in attrs, (name, attrs)
        assert len(attrs & {"\\HasChildren", "\\HasNoChildren"}) == 1, (name, attrs)
    assert "\\Sent" in listed["Sent"] and "\\Junk" in listed["Spam"] and "\\Drafts" in listed["Drafts"]
    assert "\\Trash" in listed["Trash"]

    _, u = w.command('LSUB "" "*"')
    lsub = {re.match(rb'^\* LSUB \([^)]*\) "/" "?([^"]*)"?$', l).group(1).decode() for l, _ in u}
    assert lsub == set(listed)

    _, u = w.command('SELECT "INBOX" (CONDSTORE)')
    assert untagged_matching(u, rb"^\* 2 EXISTS$")
    hms = untagged_matching(u, rb"^\* OK \[HIGHESTMODSEQ \d+\]")
    assert hms, u
    assert untagged_matching(u, rb"^\* OK \[UIDVALIDITY \d+\]") and untagged_matching(u, rb"^\* OK \[UIDNEXT 3\]")

    _, u = w.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    fetches = untagged_matching(u, rb"FETCH")
    assert len(fetches) == 2, u
    for l, _ in fetches:
        assert re.match(rb"^\* \d+ FETCH \(.*UID \d+", l) and b"FLAGS (" in l and re.search(rb"MODSEQ \(\d+\)", l), l

    _, u = w.command(f"UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS ({TB_HEADERS})])")
    fetches = untagged_matching(u, rb"FETCH")
    assert len(fetches) == 2, u
    sizes = {}
    for l, lits in fetches:
        assert re.search(rb"BODY\[HEADER\.FIELDS \([^)]*\)\] \{\d+\}\)$", l), l
        assert len(lits) == 1 and lits[0].endswith(b"\r\n\r\n"), lits
        names = [h.split(b":")[0].lower() for h in lits[0].split(b"\r\n") if h and not h[:1].isspace()]
        assert set(names) <= {n.lower().encode() for n in TB_HEADERS.split()}, names
        assert b"received" not in names and b"x-other" not in names
        uid = int(re.search(rb"UID (\d+)", l).group(1))
        sizes[uid] = int(re.search(rb"RFC822\.SIZE (\d+)", l).group(1))
        if message_id(lits[0]) == "tb1":
            assert b'Subject: re: (plans) "quoted" {5}\r\n' in lits[0] and b"X-Priority: 1\r\n" in lits[0]
            assert b"Cc: dave@example.org\r\n" in lits[0]
    # Thunderbird reads bodies in chunks; RFC822.SIZE must match what they add up to.
    for uid, size in sizes.items():
        _, u = w.command(f"UID FETCH {uid} (BODY.PEEK[])")
        full = u[0][1][0]
        assert len(full) == size
        chunks, offset = b"", 0
        while True:
            _, u = w.command(f"UID FETCH {uid} (UID RFC822.SIZE BODY.PEEK[]<{offset}.100>)")
            assert re.search(rb"BODY\[\]<%d> \{\d+\}\)$" % offset, u[0][0]), u[0][0]
            chunks += u[0][1][0]
            offset += 100
            if len(u[0][1][0]) < 100:
                break
        assert chunks == full

    tag = idle_begin(w)
    deliver(server, "tb2")
    idle_expect(w, rb"^\* 3 EXISTS$")
    idle_end(w, tag)
    _, u = w.command("UID FETCH 3:* (UID FLAGS) (CHANGEDSINCE 1)")
    assert untagged_matching(u, rb"^\* 3 FETCH \(.*UID 3")
    line, u = w.command("LOGOUT")
    assert untagged_matching(u, rb"^\* BYE")
    w.close()


def test_copy_or_move_of_messages_expunged_meanwhile(server):
    """Regression: COPY/MOVE of messages another session expunged (not yet
    reported to this one) answered OK with an empty "[COPYUID v  ]"."""
    for i in range(3):
        deliver(server, f"gone{i}")
    d, c = Wire(server).login(), Wire(server).login()
    d.command('SELECT "INBOX"')
    c.command('SELECT "INBOX"')
    c.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.command("EXPUNGE")
    for cmd in ('COPY 1 "Trash"', 'UID COPY 1 "Trash"', 'MOVE 1 "Trash"', 'UID MOVE 1 "Trash"'):
        line, u = d.command(cmd, expect="NO")  # well_formed() checks every response
        assert b"[EXPUNGEISSUED]" in line and not untagged_matching(u, rb"COPYUID|EXPUNGE"), (cmd, line, u)
    _, u = d.command('STATUS "Trash" (MESSAGES)')
    assert untagged_matching(u, rb"MESSAGES 0\)"), u
    # Partly gone: the rest is copied and COPYUID names only what was copied.
    line, u = d.command('COPY 1:2 "Trash"')
    assert re.search(rb"\[COPYUID \d+ 2 1\]", line), line
    line, u = d.command('MOVE 1:3 "Trash"')
    assert untagged_matching(u, rb"^\* OK \[COPYUID \d+ 2:3 2:3\]"), u
    gone = [l for l, _ in u if re.match(rb"^\* \d+ EXPUNGE$", l)]
    assert gone[:2] == [b"* 2 EXPUNGE", b"* 2 EXPUNGE"], u  # then MOVE may report C's expunge too
    _, u = d.command("NOOP")
    gone += [l for l, _ in u if re.match(rb"^\* \d+ EXPUNGE$", l)]
    assert gone == [b"* 2 EXPUNGE", b"* 2 EXPUNGE", b"* 1 EXPUNGE"], gone
    assert mids_of(d, "INBOX") == [] and mids_of(d, "Trash") == ["gone1", "gone1", "gone2"]
    for w in (c, d):
        w.command("LOGOUT")
        w.close()
