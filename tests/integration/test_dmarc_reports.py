"""DMARC aggregate reports (RFC 7489 7.2): `mailfort auth report send --day`
turns the day's counted verdicts into one gzip'd XML report per policy
domain, DKIM-signed with our domain's key and queued to each rua= address;
the remote MX is a loopback sink (smtpsink.py on 127.0.0.4). A destination
outside the policy domain needs its `<domain>._report._dmarc.<rua domain>`
consent record (7.1); a "!size" limit smaller than the report skips it.

test_report_of_mail_received_over_smtp feeds the store the real way: mail
signed by dkimpy arrives on the MX, the end-of-data verdict is counted. The
other tests write rows into the store as DmarcReportStore::record() keeps
them (that aggregation is unit-tested in src/auth/dmarc_report_store_test.cpp)
to check the report itself field by field.
"""
import base64
import datetime
import email
import gzip
import os
import re
import sqlite3
import xml.etree.ElementTree as ET

import smtplib

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import HOST, Instance, close_all, run_as_owner, wait_for
from smtpsink import SmtpSink

SINK_HOST = "127.0.0.4"
POLICY = "sender.test"


@pytest.fixture
def sink():
    s = SmtpSink(SINK_HOST).start()
    yield s
    s.stop()


@pytest.fixture
def reporter(dns, sink):
    """A: our server with DMARC reports on; sender.test and reports.test
    have their MX on the sink."""
    a = Instance(dns)
    a.set("inbound", "dmarc_reports", "true")
    a.set("delivery", "remote_port", str(sink.port))
    a.set("delivery", "source_address", '"127.0.0.2"')
    a.set("queue", "minimal_backoff_seconds", "3600")
    for d in (POLICY, "reports.test"):
        dns.add(d, "MX", f"10 mx.{d}.")
        dns.add(f"mx.{d}", "A", SINK_HOST)
    # Our DKIM keys in the fake DNS, so the report's signature can be checked.
    for line in a.cli("dkim", "dns", "example.test", check=True).stdout.strip().splitlines():
        m = re.match(r"^(\S+)\.\s+IN\s+TXT\s+(.*)$", line)
        dns.add(m.group(1), "TXT", m.group(2))
    yield a
    close_all(a)


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def record_verdicts(a, day, rows, domain=POLICY, rua="mailto:agg@sender.test"):
    """Counted rows of `day` for `domain`, as DmarcReportStore::record() keeps them."""
    a.cli("auth", "report", "send", "--day", "2000-01-01", check=True)  # creates the store
    path = os.path.join(a.dir, "data", "dmarc-reports.sqlite")
    if not os.path.exists(path):
        path = next(os.path.join(r, f) for r, _, fs in os.walk(a.dir) for f in fs if f == "dmarc-reports.sqlite")
    db = sqlite3.connect(path)
    with db:
        db.execute("INSERT INTO dmarc_report_domains VALUES (?, ?, ?, 'reject', ?, ?)",
                   (day, domain, domain, rua, len(rows)))
        for r in rows:
            db.execute("INSERT INTO dmarc_report_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (day, domain) + r)
    db.close()
    for f in os.listdir(os.path.dirname(path)):
        if f.startswith("dmarc-reports.sqlite"):
            run_as_owner(os.path.join(os.path.dirname(path), f))


ROWS = [
    # source_ip, disposition, dkim, spf, reason, header_from, envelope_from, dkim results, spf domain, scope, result, count
    ("192.0.2.1", "none", "pass", "fail", "", POLICY, "bounce.sender.test", "sender.test s1 pass\nesp.test k1 fail",
     "bounce.sender.test", "mfrom", "softfail", 5),
    ("198.51.100.7", "reject", "fail", "fail", "", POLICY, "", "", "helo.evil.test", "helo", "fail", 2),
    ("2001:db8::25", "quarantine", "fail", "pass", "sampled_out", POLICY, "x<&>.sender.test", "", "x.sender.test",
     "mfrom", "pass", 1),
]


def reports(sink):
    """(transaction, message, XML root, attachment filename) of each report the sink got."""
    out = []
    for tx in list(sink.transactions):
        msg = email.message_from_bytes(tx.data)
        for part in msg.walk():
            if part.get_content_type() == "application/gzip":
                xml = gzip.decompress(part.get_payload(decode=True))
                out.append((tx, msg, ET.fromstring(xml), part.get_filename()))
    return out


def text(el, path):
    return el.find(path).text


def test_report_sent_signed_and_counted(reporter, sink, dns):
    dns.add(f"_dmarc.{POLICY}", "TXT", '"v=DMARC1; p=reject; pct=100; adkim=s; '
            'rua=mailto:agg@sender.test,mailto:ext@reports.test"')
    dns.add(f"{POLICY}._report._dmarc.reports.test", "TXT", '"v=DMARC1"')
    reporter.start()
    day = today()
    record_verdicts(reporter, day, ROWS)
    out = reporter.cli("auth", "report", "send", "--day", day, check=True).stdout
    assert f"dmarc-report day={day} reports=1 messages=2" in out, out + reporter.log()[-3000:]
    got = wait_for(lambda: len(reports(sink)) == 2 and reports(sink))
    assert got, reporter.cli("queue", "list").stdout + reporter.log()[-3000:]
    assert sorted(r for tx, *_ in got for r in tx.rcpts) == ["agg@sender.test", "ext@reports.test"]
    for tx, msg, root, filename in got:
        assert tx.sender == ""  # null sender: a report never bounces back
        assert " ".join(msg["Subject"].split()) == \
            f"Report Domain: {POLICY} Submitter: {HOST} Report-ID: <{day}.{POLICY}@{HOST}>"
        begin = int(datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())
        assert filename == f"{HOST}!{POLICY}!{begin}!{begin + 86399}.xml.gz"
        # DKIM-signed by our domain, verifiable with the published key.
        assert msg["DKIM-Signature"] and "d=example.test" in msg["DKIM-Signature"].replace(" ", "")
        assert dkim.verify(tx.data, dnsfunc=lambda name, timeout=5: dns_txt(dns, name)), msg["DKIM-Signature"]

        assert root.tag == "feedback"
        meta = root.find("report_metadata")
        assert text(meta, "org_name") == HOST
        assert text(meta, "email") == "noreply-dmarc@example.test"
        assert text(meta, "report_id") == f"{day}.{POLICY}@{HOST}"
        assert (int(text(meta, "date_range/begin")), int(text(meta, "date_range/end"))) == (begin, begin + 86399)
        pol = root.find("policy_published")
        assert {c.tag: c.text for c in pol} == {"domain": POLICY, "adkim": "s", "aspf": "r", "p": "reject",
                                               "sp": "reject", "pct": "100", "fo": "0"}
        recs = {text(r, "row/source_ip"): r for r in root.findall("record")}
        assert set(recs) == {"192.0.2.1", "198.51.100.7", "2001:db8::25"}
        a = recs["192.0.2.1"]
        assert text(a, "row/count") == "5"
        assert [(c.tag, c.text) for c in a.find("row/policy_evaluated")] == \
            [("disposition", "none"), ("dkim", "pass"), ("spf", "fail")]
        assert text(a, "identifiers/header_from") == POLICY
        assert text(a, "identifiers/envelope_from") == "bounce.sender.test"
        assert [(text(d, "domain"), text(d, "selector"), text(d, "result")) for d in a.findall("auth_results/dkim")] \
            == [("sender.test", "s1", "pass"), ("esp.test", "k1", "fail")]
        assert (text(a, "auth_results/spf/domain"), text(a, "auth_results/spf/scope"),
                text(a, "auth_results/spf/result")) == ("bounce.sender.test", "mfrom", "softfail")
        b = recs["198.51.100.7"]
        assert text(b, "row/count") == "2"
        assert text(b, "row/policy_evaluated/disposition") == "reject"
        assert b.findall("auth_results/dkim") == []
        assert text(b, "auth_results/spf/scope") == "helo"
        c = recs["2001:db8::25"]
        assert text(c, "row/policy_evaluated/reason/type") == "sampled_out"
        assert text(c, "identifiers/envelope_from") == "x<&>.sender.test"  # escaped in the XML, intact here
    # Once per day and domain.
    out = reporter.cli("auth", "report", "send", "--day", day, check=True).stdout
    assert f"dmarc-report day={day} reports=0 messages=0" in out, out


def dns_txt(dns, name):
    """The fake DNS's TXT record for dkimpy (its character-strings joined), or None."""
    name = (name.decode() if isinstance(name, bytes) else name).rstrip(".").lower()
    for rtype, t in dns.records.get(name, []):
        if rtype == "TXT":
            return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', t)).encode()
    return None


def test_external_destination_needs_consent_and_size_limit(reporter, sink, dns):
    # reports.test publishes no consent record; small@ allows only 100 bytes.
    dns.add(f"_dmarc.{POLICY}", "TXT", '"v=DMARC1; p=none; '
            'rua=mailto:ext@reports.test,mailto:small@sender.test!100,mailto:agg@sender.test!10k"')
    reporter.start()
    day = today()
    record_verdicts(reporter, day, ROWS[:1])
    r = reporter.cli("auth", "report", "send", "--day", day, check=True)
    assert f"dmarc-report day={day} reports=1 messages=1" in r.stdout, r.stdout + r.stderr
    got = wait_for(lambda: reports(sink))
    assert got and [tx.rcpts for tx, *_ in got] == [["agg@sender.test"]]
    assert 'dmarc-report skipped domain=sender.test rua=mailto:ext@reports.test reason=no-authorization' \
        in r.stdout, r.stdout
    assert "dmarc-report skipped domain=sender.test to=small@sender.test reason=too-large" in r.stdout, r.stdout
    assert text(got[0][2], "policy_published/p") == "none"


def test_no_record_no_report_and_bad_day(reporter, sink, dns):
    reporter.start()
    day = today()
    record_verdicts(reporter, day, ROWS[:1])  # sender.test has no _dmarc record (any more)
    out = reporter.cli("auth", "report", "send", "--day", day, check=True).stdout
    assert f"dmarc-report day={day} reports=0 messages=0" in out, out
    bad = reporter.cli("auth", "report", "send", "--day", "2026-02-30")
    assert bad.returncode != 0 and "invalid --day" in bad.stderr


def rsa_key():
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    pub = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(pub).decode()


def send_mx(a, source, msg, sender=f"news@{POLICY}"):
    """One message to alice on A's MX from `source`; the final reply code."""
    s = smtplib.SMTP("127.0.0.1", a.ports["mx"], source_address=(source, 0), timeout=20)
    try:
        s.ehlo("client.sender.test")
        s.sendmail(sender, ["alice@example.test"], msg)
        return 250
    except smtplib.SMTPDataError as e:
        return e.smtp_code
    finally:
        s.close()


def test_report_of_mail_received_over_smtp(reporter, sink, dns):
    pem, pub = rsa_key()
    record = f"v=DKIM1; k=rsa; p={pub}"
    dns.add(f"s1._domainkey.{POLICY}", "TXT", " ".join(f'"{record[i:i + 250]}"' for i in range(0, len(record), 250)))
    dns.add(POLICY, "TXT", '"v=spf1 ip4:127.0.0.5 -all"')
    dns.add(f"_dmarc.{POLICY}", "TXT", '"v=DMARC1; p=reject; rua=mailto:agg@sender.test"')
    reporter.add_user("alice@example.test")
    reporter.start()

    def signed(i):
        msg = (f"From: News <news@{POLICY}>\r\nTo: alice@example.test\r\nSubject: n{i}\r\n"
               f"Message-ID: <n{i}@{POLICY}>\r\n\r\nissue {i}\r\n").encode()
        return dkim.sign(msg, b"s1", POLICY.encode(), pem, include_headers=[b"from", b"to", b"subject"]) + msg

    for i in range(3):  # SPF and DKIM pass: delivered
        assert send_mx(reporter, "127.0.0.5", signed(i)) == 250, reporter.log()[-3000:]
    forged = signed(9).replace(b"issue 9", b"pay now")  # body altered, and from an address SPF fails
    assert send_mx(reporter, "127.0.0.6", forged) == 550, reporter.log()[-3000:]

    day = today()
    out = reporter.cli("auth", "report", "send", "--day", day, check=True).stdout
    assert f"dmarc-report day={day} reports=1 messages=1" in out, out + reporter.log()[-3000:]
    got = wait_for(lambda: reports(sink))
    assert got, reporter.cli("queue", "list").stdout + reporter.log()[-3000:]
    (tx, msg, root, _), = got
    assert tx.rcpts == ["agg@sender.test"]
    recs = {text(r, "row/source_ip"): r for r in root.findall("record")}
    assert set(recs) == {"127.0.0.5", "127.0.0.6"}, ET.tostring(root)
    ok, bad = recs["127.0.0.5"], recs["127.0.0.6"]
    assert text(ok, "row/count") == "3", ET.tostring(root)
    assert [(c.tag, c.text) for c in ok.find("row/policy_evaluated")] == \
        [("disposition", "none"), ("dkim", "pass"), ("spf", "pass")], ET.tostring(root).decode() + log_auth(reporter)
    assert [(text(d, "domain"), text(d, "selector"), text(d, "result")) for d in ok.findall("auth_results/dkim")] \
        == [(POLICY, "s1", "pass")]
    assert (text(ok, "auth_results/spf/domain"), text(ok, "auth_results/spf/result")) == (POLICY, "pass")
    assert text(ok, "identifiers/header_from") == POLICY
    assert text(ok, "identifiers/envelope_from") == POLICY
    assert text(bad, "row/count") == "1"
    assert [(c.tag, c.text) for c in bad.find("row/policy_evaluated")] == \
        [("disposition", "reject"), ("dkim", "fail"), ("spf", "fail")]
    assert text(bad, "auth_results/dkim/result") == "fail"
    assert text(bad, "auth_results/spf/result") == "fail"


def log_auth(a):
    return "\n".join(l for l in a.log().splitlines() if "smtp auth" in l or "dkim" in l)
