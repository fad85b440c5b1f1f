"""Issue 13, milters: the Sendmail milter protocol 6 client ([[milter]])
against real Debian peers at end of data on the MX listener.

  - Rspamd's proxy worker in milter mode (rspamd_peer.py, scanning itself):
    GTUBE refused with Rspamd's own reply; a clean message delivered with
    the headers its milter_headers module adds.
  - clamav-milter in front of a test clamd (clamd_peer.py, EICAR signature
    made at test time): OnInfected Reject (with clamav-milter's RejectMsg),
    Quarantine (to the Junk folder, over a unix socket) and Blackhole
    (discarded: 250, nothing stored); clean mail gets its X-Virus-Scanned /
    X-Virus-Status fields, a forged X-Virus-Status replaced (AddHeader Replace
    changes the existing field).
  - a libmilter milter of our own (Debian's python3-milter, pymilter on
    libmilter) that declares recipient changes too: header add / insert /
    change / delete and a folded value, body replacement, quarantine, a
    reply code, tempfail at MAIL, and the macros and fields it was given.
  - Debian's OpenDKIM signing on the submission listener (key made at test
    time): the stored message carries a DKIM-Signature that verifies.
  - default_action when nothing listens: tempfail (the default), accept, reject.

The peers start once for this file; the built-in scorer is off, so what the
tests see is the milter alone."""
import imaplib
import os
import re
import signal
import smtplib
import subprocess
import tempfile
import time

import pytest

from clamd_peer import AVAILABLE as CLAMD_AVAILABLE, EICAR, SIGNATURE, Clamd
from conftest import BASE, PASSWORD, wait_for
from dnsserver import FakeDNS
from ports import free_port
from rspamd_peer import AVAILABLE as RSPAMD_AVAILABLE, Rspamd

CLAMAV_MILTER = "/usr/sbin/clamav-milter"
RCPT = "bob@example.test"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
JUNK = "Spam"  # the dev configuration's [imap] junk_folder

needs_rspamd = pytest.mark.skipif(not RSPAMD_AVAILABLE, reason="Debian's rspamd is not installed")
needs_clamav = pytest.mark.skipif(not (CLAMD_AVAILABLE and os.path.exists(CLAMAV_MILTER)),
                                  reason="Debian's clamd / clamav-milter are not installed")


# ---- peers ------------------------------------------------------------------

@pytest.fixture(scope="module")
def rspamd():
    if not RSPAMD_AVAILABLE:
        pytest.skip("Debian's rspamd is not installed")
    dns = FakeDNS().start()  # Rspamd asks nothing of the internet
    r = Rspamd(dns_address=dns.address)
    # The headers Rspamd's milter adds to every message it scans.
    path = os.path.join(r.dir, "local", "local.d", "milter_headers.conf")
    with open(path, "w") as f:
        f.write('use = ["x-spamd-result", "x-spamd-bar", "x-spam-level"];\n'
                "skip_local = false;\nskip_authenticated = false;\n")
    if os.geteuid() == 0:
        import shutil
        shutil.chown(path, "_rspamd", "_rspamd")
    try:
        r.start()
        yield r
    finally:
        r.cleanup()
        dns.stop()


class ClamavMilter:
    """Debian's clamav-milter with its own configuration, in front of `clamd`,
    on a TCP port or a unix socket; `on_infected` is its OnInfected."""

    def __init__(self, clamd, on_infected, unix=False, reject_msg=None):
        self.dir = tempfile.mkdtemp(dir=BASE, prefix="clamav-milter-")
        os.chmod(self.dir, 0o755)
        if unix:
            self.socket = os.path.join(self.dir, "milter.sock")
            self.address = self.socket
            listen = self.socket
        else:
            self.port = free_port()
            self.address = f"127.0.0.1:{self.port}"
            listen = f"inet:{self.port}@127.0.0.1"
        self.logfile = os.path.join(self.dir, "milter.log")
        conf = os.path.join(self.dir, "clamav-milter.conf")
        with open(conf, "w") as f:
            f.write(f"""\
MilterSocket {listen}
MilterSocketMode 666
FixStaleSocket yes
Foreground yes
ClamdSocket {clamd.milter_clamd_socket}
OnClean Accept
OnInfected {on_infected}
OnFail Defer
AddHeader Replace
ReportHostname milter.example.test
LogFile {self.logfile}
LogVerbose yes
LogInfected Full
LogClean Full
PidFile {self.dir}/milter.pid
TemporaryDirectory {self.dir}
MaxFileSize 25M
ReadTimeout 30
""" + (f"RejectMsg {reject_msg}\n" if reject_msg else ""))
        self.proc = subprocess.Popen([CLAMAV_MILTER, "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        ok = wait_for(lambda: self.proc.poll() is not None or self._listening(unix), timeout=30)
        assert ok and self.proc.poll() is None, f"clamav-milter did not start: {self.log()[-2000:]}"

    def _listening(self, unix):
        import socket
        try:
            if unix:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(0.2)
                s.connect(self.socket)
                s.close()
            else:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            return open(self.logfile, errors="replace").read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def clamav():
    """clamd and three clamav-milters in front of it: {"reject", "quarantine", "discard"}."""
    if not (CLAMD_AVAILABLE and os.path.exists(CLAMAV_MILTER)):
        pytest.skip("Debian's clamd / clamav-milter are not installed")
    milters = {}
    with Clamd() as clamd:
        try:
            milters["reject"] = ClamavMilter(clamd, "Reject", reject_msg="Infected by %v")
            milters["quarantine"] = ClamavMilter(clamd, "Quarantine", unix=True)
            milters["discard"] = ClamavMilter(clamd, "Blackhole")
            yield milters
        finally:
            for m in milters.values():
                m.stop()


# A real libmilter milter (pymilter): what it does is chosen by the Subject;
# what it was told (macros, fields, body) is written to REPORT_DIR per message.
PYMILTER = r"""
import json, os, sys
import Milter

PORT, REPORT_DIR = sys.argv[1], sys.argv[2]


class TestMilter(Milter.Base):
    def __init__(self):
        self.seen = {"headers": [], "body": b"", "rcpts": []}

    def connect(self, hostname, family, hostaddr):
        self.seen["connect"] = [hostname, str(hostaddr[0]) if hostaddr else None]
        for m in ("j", "{daemon_name}", "{client_addr}", "_", "v"):
            self.seen[m] = self.getsymval(m)
        return Milter.CONTINUE

    def hello(self, helo):
        self.seen["helo"] = helo
        return Milter.CONTINUE

    def envfrom(self, mailfrom, *args):
        self.seen["from"] = mailfrom
        self.seen["i"] = self.getsymval("i")
        self.seen["{mail_addr}"] = self.getsymval("{mail_addr}")
        if mailfrom.startswith("<tempfail@"):
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envrcpt(self, to, *args):
        self.seen["rcpts"].append([to, self.getsymval("{rcpt_addr}")])
        return Milter.CONTINUE

    def header(self, name, value):
        self.seen["headers"].append([name, value])
        if name.lower() == "subject":
            self.action = value
        return Milter.CONTINUE

    def body(self, chunk):
        self.seen["body"] += chunk
        return Milter.CONTINUE

    def eom(self):
        action = getattr(self, "action", "")
        with open(os.path.join(REPORT_DIR, self.seen["i"] + ".json"), "w") as f:
            seen = dict(self.seen, body=self.seen["body"].decode("latin-1"))
            json.dump(seen, f)
        if action == "edit":
            self.addheader("X-Added", "yes")
            self.addheader("X-Folded", "line one\n\tline two")
            self.chgheader("X-Change-Me", 1, "changed")
            self.chgheader("X-Delete-Me", 1, "")
            self.addheader("X-Top", "first", 0)
            self.addrcpt("<extra@example.test>")  # declared, offered, dropped by Mailfort
            self.replacebody(b"Replaced body.\r\n")
            return Milter.ACCEPT
        if action == "quarantine":
            self.quarantine("held by the test milter")
            return Milter.ACCEPT
        if action == "reject":
            self.setreply("550", "5.7.0", "Rejected by the test milter")
            return Milter.REJECT
        if action == "discard":
            return Milter.DISCARD
        return Milter.ACCEPT


Milter.factory = TestMilter
Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.QUARANTINE |
                 Milter.ADDRCPT | Milter.DELRCPT)
Milter.runmilter("mailfort-test", "inet:%s@127.0.0.1" % PORT, timeout=30)
"""


@pytest.fixture(scope="module")
def pymilter():
    """Our libmilter test milter: (address, report_dir)."""
    try:
        import Milter  # noqa: F401
    except ImportError:
        pytest.skip("Debian's python3-milter is not installed")
    d = tempfile.mkdtemp(dir=BASE, prefix="pymilter-")
    script = os.path.join(d, "test_libmilter_peer.py")  # not "milter.py": pymilter imports its C module "milter"
    with open(script, "w") as f:
        f.write(PYMILTER)
    reports = os.path.join(d, "reports")
    os.makedirs(reports)
    port = free_port()
    proc = subprocess.Popen(["/usr/bin/python3", script, str(port), reports], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"))
    try:
        import socket

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return proc.poll() is not None
        assert wait_for(up, timeout=20) and proc.poll() is None, open(os.path.join(d, "stderr")).read()
        yield f"127.0.0.1:{port}", reports
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        import shutil
        shutil.rmtree(d, ignore_errors=True)


OPENDKIM = "/usr/sbin/opendkim"
OPENDKIM_GENKEY = "/usr/sbin/opendkim-genkey"


@pytest.fixture(scope="module")
def opendkim():
    """Debian's OpenDKIM signing for example.test (selector "test", a key
    made now): (milter address, the key's DNS TXT record)."""
    if not (os.path.exists(OPENDKIM) and os.path.exists(OPENDKIM_GENKEY)):
        pytest.skip("Debian's opendkim / opendkim-tools are not installed")
    d = tempfile.mkdtemp(dir=BASE, prefix="opendkim-")
    # RequireSafeKeys off: the key lives under /tmp, which others can write.
    subprocess.run([OPENDKIM_GENKEY, "-D", d, "-d", "example.test", "-s", "test"], check=True)
    txt = "".join(re.findall(r'"([^"]*)"', open(os.path.join(d, "test.txt")).read()))
    port = free_port()
    conf = os.path.join(d, "opendkim.conf")
    with open(conf, "w") as f:
        f.write(f"""\
Syslog no
Background no
Mode s
Domain example.test
Selector test
KeyFile {d}/test.private
Canonicalization relaxed/simple
Socket inet:{port}@127.0.0.1
PidFile {d}/opendkim.pid
InternalHosts 127.0.0.1
RequireSafeKeys false
""")
    proc = subprocess.Popen([OPENDKIM, "-f", "-x", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(d, "stderr"), "w"))
    try:
        import socket

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return proc.poll() is not None
        assert wait_for(up, timeout=20) and proc.poll() is None, open(os.path.join(d, "stderr")).read()
        yield f"127.0.0.1:{port}", txt
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        import shutil
        shutil.rmtree(d, ignore_errors=True)


# ---- helpers ----------------------------------------------------------------

def add_milter(inst, name, address, **keys):
    """Appends a [[milter]] table (at the end: after the listeners, so it
    stays an array of tables at the top level)."""
    lines = [f"\n[[milter]]", f'name = "{name}"', f'address = "{address}"']
    lines += [f"{k} = {v}" for k, v in keys.items()]
    with open(inst.config, "a") as f:
        f.write("\n".join(lines) + "\n")


def serve(inst, milters):
    """`milters`: [(name, address, {key: TOML value})]."""
    inst.set("spam", "engine", '"off"')
    inst.add_user("alice@example.test")
    inst.add_user(RCPT)
    for name, address, keys in milters:
        add_milter(inst, name, address, **keys)
    return inst.start()


def message(body=b"Hello Bob,\r\n\r\njust a note about the meeting on Monday.\r\n", extra_headers=b"",
            sender=b"sender@example.org", subject=b"milter test"):
    return (b"From: Sender <" + sender + b">\r\nTo: bob@example.test\r\nSubject: " + subject + b"\r\n"
            b"Message-ID: <milter-test-" + str(time.time_ns()).encode() + b"@example.org>\r\n"
            b"Date: Fri, 04 Dec 2026 01:00:00 +0000\r\n" + extra_headers + b"\r\n" + body)


def send(inst, data, listener="mx", envelope_sender="sender@example.org"):
    """The reply to the message: (code, text)."""
    if listener == "mx":
        s = inst.smtp("mx")
        sender = envelope_sender
    else:
        s = inst.submission_tls()
        s.login("alice@example.test", PASSWORD)
        sender = "alice@example.test"
    try:
        s.sendmail(sender, [RCPT], data)
        return 250, ""
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    except smtplib.SMTPSenderRefused as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def header_of(msg):
    return msg.split(b"\r\n\r\n", 1)[0]


def fields(msg, name):
    return re.findall(rb"(?im)^" + re.escape(name.encode()) + rb":[ \t]*([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)",
                      header_of(msg))


def imap_messages(inst, folder):
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], ssl_context=inst.server_hostname_context())
    try:
        m.login(RCPT, PASSWORD)
        typ, _ = m.select(folder, readonly=True)
        if typ != "OK":
            return []
        _, data = m.search(None, "ALL")
        out = []
        for num in data[0].split():
            _, parts = m.fetch(num, "(BODY.PEEK[])")
            out.append(parts[0][1])
        return out
    finally:
        m.logout()


# ---- Rspamd's proxy worker in milter mode -------------------------------------

@needs_rspamd
def test_rspamd_milter_rejects_gtube_with_its_reply(instance, rspamd):
    serve(instance, [("rspamd", rspamd.milter_address, {"listeners": '["mx"]'})])
    code, text = send(instance, message(b"This is spam.\r\n" + GTUBE + b"\r\n"))
    assert code == 554, text
    # Rspamd's own reply (the reason of its GTUBE rule), not our default text.
    assert text == "5.7.1 Gtube pattern", text
    assert instance.messages(RCPT) == []
    assert instance.wait_log(r"milter-reject")


@needs_rspamd
def test_rspamd_milter_clean_message_carries_its_headers(instance, rspamd):
    serve(instance, [("rspamd", rspamd.milter_address, {"listeners": '["mx"]'})])
    code, text = send(instance, message())
    assert code == 250, text
    msgs = wait_for(lambda: instance.messages(RCPT), timeout=10)
    assert len(msgs) == 1
    result = fields(msgs[0], "X-Spamd-Result")
    assert len(result) == 1, header_of(msgs[0])
    # Rspamd's format: "default: False [score / threshold];" then symbols.
    assert re.match(rb"default: False \[-?\d+\.\d+ / \d+\.\d+\]", result[0]), result[0]
    assert fields(msgs[0], "X-Spamd-Bar"), header_of(msgs[0])
    assert not fields(msgs[0], "X-Spam") and not fields(msgs[0], "X-Spam-Flag")
    # The envelope reached Rspamd through the milter's connect, MAIL, RCPT
    # and the "i" macro (Rspamd logs them with its verdict).
    qid = instance.wait_log(r"smtp accepted session=\d+ id=(\w+)").group(1)
    line = wait_for(lambda: re.search(r"qid: <" + qid + r">, ip: 127\.0\.0\.1.*", rspamd.log()), timeout=10)
    assert line, rspamd.log()[-2000:]
    assert "from: <sender@example.org>" in line.group(0) and "rcpts: <bob@example.test>" in line.group(0), \
        line.group(0)
    # The rest of the message as sent.
    assert msgs[0].endswith(b"\r\njust a note about the meeting on Monday.\r\n")
    assert fields(msgs[0], "Subject") == [b"milter test"]


@needs_rspamd
def test_rspamd_milter_only_on_its_listeners(instance, rspamd):
    # Applies to MX only: GTUBE from an authenticated user on submission
    # passes (the built-in scorer is off).
    serve(instance, [("rspamd", rspamd.milter_address, {"listeners": '["mx"]'})])
    code, text = send(instance, message(GTUBE + b"\r\n", sender=b"alice@example.test"),
                      listener="submission")
    assert code == 250, text
    code, text = send(instance, message(GTUBE + b"\r\n"))
    assert code == 554, text


# ---- clamav-milter ------------------------------------------------------------------

@needs_clamav
def test_clamav_milter_rejects_eicar_with_its_message(instance, clamav):
    serve(instance, [("clamav", clamav["reject"].address, {})])
    code, text = send(instance, message(b"Test file follows.\r\n" + EICAR + b"\r\n"))
    assert code == 550, text
    # clamav-milter's RejectMsg ("Infected by %v") through SMFIR_REPLYCODE.
    assert text.startswith("5.7.1 ") and "Infected by" in text and SIGNATURE in text, text
    assert instance.messages(RCPT) == []
    assert wait_for(lambda: SIGNATURE in clamav["reject"].log(), timeout=5)


@needs_clamav
def test_clamav_milter_clean_message_gets_its_headers_and_replaces_forged_ones(instance, clamav):
    serve(instance, [("clamav", clamav["reject"].address, {})])
    forged = b"X-Virus-Status: Clean (forged by the sender)\r\n"
    code, text = send(instance, message(extra_headers=forged))
    assert code == 250, text
    msgs = wait_for(lambda: instance.messages(RCPT), timeout=10)
    assert len(msgs) == 1
    scanned = fields(msgs[0], "X-Virus-Scanned")
    assert len(scanned) == 1 and b"clamav-milter" in scanned[0] and b"milter.example.test" in scanned[0], \
        header_of(msgs[0])
    # AddHeader Replace: clamav-milter changed the existing field (CHGHEADER
    # index 1) rather than adding a second one.
    assert fields(msgs[0], "X-Virus-Status") == [b"Clean"], header_of(msgs[0])


@needs_clamav
def test_clamav_milter_quarantine_over_a_unix_socket_goes_to_junk(instance, clamav):
    serve(instance, [("clamav", clamav["quarantine"].address, {})])
    code, text = send(instance, message(b"Attached: " + EICAR + b"\r\n"))
    assert code == 250, text
    junk = wait_for(lambda: imap_messages(instance, JUNK), timeout=10)
    assert len(junk) == 1
    assert fields(junk[0], "X-Virus-Status")[0].startswith(b"Infected"), header_of(junk[0])
    assert imap_messages(instance, "INBOX") == []
    # A clean one through the same milter lands in the inbox.
    code, text = send(instance, message())
    assert code == 250, text
    assert wait_for(lambda: len(imap_messages(instance, "INBOX")) == 1, timeout=10)


@needs_clamav
def test_clamav_milter_blackhole_discards(instance, clamav):
    serve(instance, [("clamav", clamav["discard"].address, {})])
    code, text = send(instance, message(EICAR + b"\r\n"))
    assert code == 250, text  # accepted, then dropped
    assert instance.wait_log(r"milter-discard")
    assert instance.messages(RCPT) == []
    assert imap_messages(instance, JUNK) == []


@needs_clamav
def test_two_milters_in_order(instance, clamav, rspamd):
    # clamav-milter first (its header), then Rspamd (its headers): both sets
    # on the stored message; GTUBE is still refused by the second.
    serve(instance, [("clamav", clamav["reject"].address, {}),
                     ("rspamd", rspamd.milter_address, {})])
    code, text = send(instance, message())
    assert code == 250, text
    msgs = wait_for(lambda: instance.messages(RCPT), timeout=10)
    assert len(msgs) == 1
    assert fields(msgs[0], "X-Virus-Status") == [b"Clean"]
    assert len(fields(msgs[0], "X-Spamd-Result")) == 1
    code, text = send(instance, message(GTUBE + b"\r\n"))
    assert code == 554 and text == "5.7.1 Gtube pattern", text


# ---- a libmilter milter of our own (pymilter) ----------------------------------------

def test_libmilter_edits_header_and_body(instance, pymilter):
    address, reports = pymilter
    serve(instance, [("py", address, {})])
    extra = b"X-Change-Me: original\r\nX-Delete-Me: gone soon\r\n"
    code, text = send(instance, message(extra_headers=extra, subject=b"edit"))
    assert code == 250, text
    msgs = wait_for(lambda: instance.messages(RCPT), timeout=10)
    assert len(msgs) == 1
    head, body = msgs[0].split(b"\r\n\r\n", 1)
    assert body == b"Replaced body.\r\n"  # SMFIR_REPLBODY
    assert fields(msgs[0], "X-Added") == [b"yes"]  # SMFIR_ADDHEADER, at the end of the header
    assert head.endswith(b"\r\nX-Added: yes\r\nX-Folded: line one\r\n\tline two")
    assert fields(msgs[0], "X-Change-Me") == [b"changed"]  # SMFIR_CHGHEADER
    assert fields(msgs[0], "X-Delete-Me") == []  # SMFIR_CHGHEADER with an empty value
    # SMFIR_INSHEADER at 0: the top of the header the milter saw (our own
    # Received goes above it afterwards).
    assert b"\r\nX-Top: first\r\nFrom: Sender" in head, head
    assert instance.wait_log(r"milter ignored-request milter=\"?py\"? .*request=ADDRCPT")


def test_libmilter_is_told_the_envelope_and_the_message(instance, pymilter):
    import json
    address, reports = pymilter
    serve(instance, [("py", address, {})])
    code, text = send(instance, message(subject=b"report"))
    assert code == 250, text
    qid = instance.wait_log(r"smtp accepted session=\d+ id=(\w+)").group(1)
    seen = json.load(open(os.path.join(reports, qid + ".json")))
    assert seen["j"] == "mail.example.test"
    assert seen["{daemon_name}"] == "mx"
    assert seen["{client_addr}"] == "127.0.0.1"
    assert seen["v"] == "Mailfort"
    assert seen["connect"] == ["[127.0.0.1]", "127.0.0.1"]
    assert seen["helo"] == "client.example.org"
    assert seen["from"] == "<sender@example.org>" and seen["{mail_addr}"] == "sender@example.org"
    assert seen["rcpts"] == [["<bob@example.test>", "bob@example.test"]]
    # Field values without the blank after the colon (no SMFIP_HDR_LEADSPC).
    assert ["Subject", "report"] in seen["headers"]
    assert seen["headers"][0][0] == "From"
    assert seen["body"] == "Hello Bob,\r\n\r\njust a note about the meeting on Monday.\r\n"


def test_libmilter_reply_code_quarantine_discard_and_tempfail(instance, pymilter):
    address, _ = pymilter
    serve(instance, [("py", address, {})])
    code, text = send(instance, message(subject=b"reject"))
    assert (code, text) == (550, "5.7.0 Rejected by the test milter")
    code, text = send(instance, message(subject=b"quarantine"))
    assert code == 250, text
    junk = wait_for(lambda: imap_messages(instance, JUNK), timeout=10)
    assert len(junk) == 1 and fields(junk[0], "Subject") == [b"quarantine"]
    code, text = send(instance, message(subject=b"discard"))
    assert code == 250, text
    assert instance.wait_log(r"milter-discard")
    # Tempfail at MAIL ends the conversation there.
    code, text = send(instance, message(), envelope_sender="tempfail@example.org")
    assert code == 451 and text.startswith("4.7.1"), text
    assert imap_messages(instance, "INBOX") == []
    assert len(imap_messages(instance, JUNK)) == 1


# ---- OpenDKIM ------------------------------------------------------------------------

def test_opendkim_signs_submitted_mail(instance, opendkim):
    import dkim
    address, txt = opendkim
    serve(instance, [("opendkim", address, {"listeners": '["submission"]'})])
    code, text = send(instance, message(sender=b"alice@example.test", subject=b"signed"), listener="submission")
    assert code == 250, text
    msgs = wait_for(lambda: instance.messages(RCPT), timeout=10)
    assert len(msgs) == 1
    sig = fields(msgs[0], "DKIM-Signature")
    assert len(sig) == 1 and b"d=example.test" in sig[0] and b"s=test" in sig[0], header_of(msgs[0])

    def dnsfunc(name, timeout=5):
        assert name in (b"test._domainkey.example.test.", "test._domainkey.example.test."), name
        return txt.encode()
    # The signature OpenDKIM computed over the fields and body it was given
    # holds for the message as stored.
    assert dkim.verify(msgs[0], dnsfunc=dnsfunc), header_of(msgs[0])


# ---- default_action when the milter cannot be reached ---------------------------------

def closed_port():
    return f"127.0.0.1:{free_port()}"  # nothing listens there


def test_unreachable_milter_tempfails_by_default(instance):
    serve(instance, [("gone", closed_port(), {"connect_timeout_seconds": "2"})])
    code, text = send(instance, message())
    assert code == 451, text
    assert text.startswith("4.7.1"), text
    assert instance.messages(RCPT) == []
    assert instance.wait_log(r"milter-failed .*milter=\"?gone\"?.*refused")


def test_unreachable_milter_accept_delivers(instance):
    serve(instance, [("gone", closed_port(), {"default_action": '"accept"'})])
    code, text = send(instance, message())
    assert code == 250, text
    assert len(wait_for(lambda: instance.messages(RCPT), timeout=10)) == 1


def test_unreachable_milter_reject_refuses(instance):
    serve(instance, [("gone", closed_port(), {"default_action": '"reject"'})])
    code, text = send(instance, message())
    assert code in (550, 554), text
    assert text.startswith("5.7.1"), text
    assert instance.messages(RCPT) == []


def test_milter_that_never_answers_times_out(instance):
    # A listener that accepts and says nothing: the per-reply timeout, then
    # default_action.
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        serve(instance, [("mute", f"127.0.0.1:{port}", {"timeout_seconds": "1"})])
        start = time.time()
        code, text = send(instance, message())
        assert code == 451, text
        assert time.time() - start < 8
        assert instance.wait_log(r"milter-failed .*timed out")
    finally:
        listener.close()
