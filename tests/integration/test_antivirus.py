"""Issue 13, antivirus: every message streamed to Debian's clamd (INSTREAM)
before the 250, over TCP and over a unix socket. clamd runs once for this
file (clamd_peer.py) with a signature database made at test time: the EICAR
test string. A virus -> 554 5.7.1 naming it, nothing stored; clamd down ->
451 4.7.1 (or delivered with a "not scanned" header when on_error =
"accept"); clean -> delivered with X-Virus-Scanned."""
import io
import re
import smtplib
import zipfile
from email.message import EmailMessage

import pytest

from clamd_peer import AVAILABLE, EICAR, SIGNATURE, Clamd
from conftest import PASSWORD

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="Debian's clamd (clamav-daemon) is not installed")

RCPT = "bob@example.test"
# clamd refuses streams longer than this: one test sends more than it.
STREAM_MAX = 1024 * 1024


@pytest.fixture(scope="module")
def clamd():
    with Clamd(stream_max_length=STREAM_MAX) as c:
        yield c


@pytest.fixture
def clamd_running(clamd):
    """The module's clamd, started again if a test stopped it (a failed one
    must not leave it down for the next)."""
    if clamd.proc is None:
        clamd.start()
    yield clamd
    if clamd.proc is None:
        clamd.start()


def serve(instance, clamd_address, **antivirus):
    # Scoring is another part of issue 13; off here, so that what these
    # tests see is the antivirus alone.
    instance.set("spam", "engine", '"off"')
    instance.set("antivirus", "clamd", f'"{clamd_address}"')
    for key, value in antivirus.items():
        instance.set("antivirus", key, value)
    instance.add_user("alice@example.test")
    instance.add_user(RCPT)
    return instance.start()


def message(body=b"Hello Bob,\r\n\r\njust a note.\r\n", extra_headers=b""):
    return (b"From: sender@example.org\r\nTo: bob@example.test\r\nSubject: antivirus test\r\n"
            b"Message-ID: <av-test@example.org>\r\nDate: Fri, 04 Dec 2026 01:00:00 +0000\r\n" + extra_headers +
            b"\r\n" + body)


def eicar_in_zip():
    m = EmailMessage()
    m["From"] = "sender@example.org"
    m["To"] = RCPT
    m["Subject"] = "invoice"
    m.set_content("The invoice is attached.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("invoice.com", EICAR + b"\r\n" + b" " * 200)
    m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="invoice.zip")
    raw = m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    # Deflated and base64-encoded: only clamd's MIME and zip unpacking can see it.
    assert EICAR not in raw and EICAR not in buf.getvalue()
    return raw


def send(inst, data, listener="mx"):
    """The reply to the message: (code, text)."""
    if listener == "mx":
        s = inst.smtp("mx")
    else:
        s = inst.submission_tls()
        s.login("alice@example.test", PASSWORD)
    try:
        s.sendmail("sender@example.org" if listener == "mx" else "alice@example.test", [RCPT], data)
        return 250, ""
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def virus_headers(msg):
    return re.findall(rb"(?im)^X-Virus-Scanned:[^\r\n]*", msg.split(b"\r\n\r\n", 1)[0])


def test_eicar_over_tcp_is_refused_and_not_stored(instance, clamd_running):
    serve(instance, clamd_running.tcp_address)
    code, text = send(instance, message(b"Test file follows.\r\n" + EICAR + b"\r\n"))
    assert code == 554, text
    assert text.startswith("5.7.1 ") and SIGNATURE in text, text
    assert instance.messages(RCPT) == []
    assert clamd_running.log_contains(SIGNATURE), clamd_running.log()  # clamd itself found it


def test_eicar_in_a_zip_over_the_unix_socket_is_refused(instance, clamd_running):
    # The server drops to the `mailfort` user: the socket must be reachable by it.
    serve(instance, clamd_running.socket)
    code, text = send(instance, eicar_in_zip())
    assert code == 554, text
    assert "5.7.1" in text and SIGNATURE in text, text
    assert instance.messages(RCPT) == []


@pytest.mark.parametrize("over", ["tcp", "unix"])
def test_clean_message_is_delivered_with_x_virus_scanned(instance, clamd_running, over):
    serve(instance, clamd_running.tcp_address if over == "tcp" else clamd_running.socket)
    code, text = send(instance, message())
    assert code == 250, text
    (stored,) = instance.messages(RCPT)
    assert virus_headers(stored) == [b"X-Virus-Scanned: ClamAV (Mailfort)"]
    assert b"just a note." in stored


# filter::strip_spam_headers is another helper's part (i13-checks), a
# placeholder on this branch: strict, so the merge that brings it makes this
# XPASS and the mark must go.
def test_senders_own_x_virus_scanned_is_removed(instance, clamd_running):
    serve(instance, clamd_running.tcp_address)
    code, text = send(instance, message(extra_headers=b"X-Virus-Scanned: clean, trust me\r\n"))
    assert code == 250, text
    (stored,) = instance.messages(RCPT)
    assert virus_headers(stored) == [b"X-Virus-Scanned: ClamAV (Mailfort)"]


def test_virus_refused_on_submission_too(instance, clamd_running):
    serve(instance, clamd_running.tcp_address)
    code, text = send(instance, eicar_in_zip(), listener="submission")
    assert code == 554, text
    assert SIGNATURE in text
    assert instance.messages(RCPT) == []


def test_clamd_stopped_tempfails_then_accepts_once_it_is_back(instance, clamd_running):
    serve(instance, clamd_running.socket)
    clamd_running.stop()
    mark = instance.log_mark()
    code, text = send(instance, message())
    assert code == 451, text
    assert text.startswith("4.7.1 "), text
    assert instance.messages(RCPT) == []
    assert instance.wait_log(r"virus-scan-failed .*connect: No such file or directory", since=mark)
    clamd_running.start()
    code, text = send(instance, message())
    assert code == 250, text
    (stored,) = instance.messages(RCPT)
    assert virus_headers(stored) == [b"X-Virus-Scanned: ClamAV (Mailfort)"]
    # ... and it scans again: a virus is refused, not waved through.
    code, text = send(instance, message(EICAR + b"\r\n"))
    assert code == 554, text


def test_clamd_stopped_with_on_error_accept_delivers_not_scanned(instance, clamd_running):
    serve(instance, clamd_running.tcp_address, on_error='"accept"')
    clamd_running.stop()
    code, text = send(instance, message())
    assert code == 250, text
    (stored,) = instance.messages(RCPT)
    (header,) = virus_headers(stored)
    assert header == b"X-Virus-Scanned: not scanned (connect: Connection refused)", header


def test_message_above_max_scan_size_is_scanned_up_to_it(instance, clamd_running):
    serve(instance, clamd_running.tcp_address, max_scan_size="4096")
    mark = instance.log_mark()
    padding = b"".join(b"line %06d of a long and harmless message\r\n" % i for i in range(5000))  # ~220 KB
    # A virus past the cut is not seen: proof that only the first bytes went.
    code, text = send(instance, message(padding + EICAR + b"\r\n"))
    assert code == 250, text
    (stored,) = instance.messages(RCPT)
    assert virus_headers(stored) == [b"X-Virus-Scanned: ClamAV (Mailfort)"]
    assert instance.wait_log(r"antivirus scan-truncated size=\d+ scanned=4096", since=mark)
    # One in the first bytes is.
    code, text = send(instance, message(EICAR + b"\r\n" + padding))
    assert code == 554, text
    assert len(instance.messages(RCPT)) == 1


def test_stream_longer_than_clamds_limit_is_a_scan_error(instance, clamd_running):
    # max_scan_size (default 25 MiB) above clamd's StreamMaxLength (1 MiB
    # here): clamd answers "INSTREAM size limit exceeded" mid-stream, the
    # message is not passed unscanned.
    serve(instance, clamd_running.tcp_address)
    big = b"".join(b"line %07d of a message bigger than clamd accepts\r\n" % i for i in range(STREAM_MAX // 40))
    mark = instance.log_mark()
    code, text = send(instance, message(big))
    assert code == 451, text
    assert instance.messages(RCPT) == []
    assert instance.wait_log(r"virus-scan-failed .*INSTREAM size limit exceeded", since=mark)
    assert clamd_running.ping()
