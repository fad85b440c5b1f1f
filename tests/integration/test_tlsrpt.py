"""SMTP TLS Reporting (RFC 8460) for outbound delivery.

The MTA-STS set-up of test_mta_sts.py (A relays to B, MX mx.b.test on
127.0.0.3 with a certificate from the test's CA, which A trusts; the policy
over HTTPS from 127.0.0.43). b.test also publishes `_smtp._tls.b.test` TXT
with a mailto: rua at B. A counts its TLS sessions per policy domain;
`mailfort tlsrpt send --day` queues the day's report, which arrives at B.
"""
import datetime
import email
import json
import re

import pytest

from conftest import HOST, wait_for
from test_mta_sts import BOB, Setup


@pytest.fixture
def rpt(dns):
    s = Setup(dns)
    # One connection per delivery: one TLS session per message here.
    s.a.set("delivery", "connection_reuse_seconds", "0")
    dns.add("_smtp._tls.b.test", "TXT", '"v=TLSRPTv1; rua=mailto:bob@b.test,https://reports.b.test/tlsrpt"')
    yield s
    s.close()


def reports(b):
    """(message, parsed JSON) of every TLS report in bob@b.test's mailbox."""
    out = []
    for raw in b.messages(BOB):
        msg = email.message_from_bytes(raw)
        if msg.get_content_type() != "multipart/report" or msg.get_param("report-type") != "tlsrpt":
            continue
        for part in msg.walk():
            if part.get_content_type() == "application/tlsrpt+json":
                out.append((msg, json.loads(part.get_payload(decode=True))))
    return out


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def test_report_counts_sessions_and_failures_and_is_sent_once(rpt):
    rpt.mx("mx.b.test")
    rpt.https.policy("enforce", mx=("mx.b.test",))
    rpt.start()
    for i in range(3):
        rpt.submit(f"ok{i}")
        assert rpt.delivered(f"ok{i}"), rpt.queue() + rpt.a.log()[-3000:]
    # A failure: a tlspolicies row (it replaces MTA-STS) naming another host.
    rpt.a.cli("tls-policy", "set", "b.test", "verify", "match=wrong.name.test", check=True)
    rpt.submit("bad")
    assert rpt.deferred("TLS policy verify not met"), rpt.queue() + rpt.a.log()[-3000:]
    rpt.a.cli("tls-policy", "remove", "b.test", check=True)

    day = today()
    out = rpt.a.cli("tlsrpt", "send", "--day", day, check=True).stdout
    assert f"tlsrpt day={day} reports=1 messages=1" in out, out
    got = wait_for(lambda: reports(rpt.b))
    assert len(got) == 1, rpt.queue() + rpt.a.log()[-3000:]
    msg, rep = got[0]
    assert msg["TLS-Report-Domain"] == "b.test"
    assert msg["TLS-Report-Submitter"] == HOST
    assert re.fullmatch(rf"Report Domain: b\.test Submitter: {re.escape(HOST)} Report-ID: <\S+>",
                        " ".join(msg["Subject"].split())), msg["Subject"]
    assert rep["organization-name"] == HOST
    assert rep["contact-info"] == f"postmaster@{HOST}"
    assert rep["report-id"]
    assert rep["date-range"] == {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"}
    policies = {p["policy"]["policy-type"]: p for p in rep["policies"]}
    assert set(policies) == {"sts", "no-policy-found"}, rep

    sts = policies["sts"]
    assert sts["policy"]["policy-domain"] == "b.test"
    assert sts["policy"]["policy-string"] == ["version: STSv1", "mode: enforce", "mx: mx.b.test",
                                              "max_age: 86400"]
    assert sts["policy"]["mx-host"] == ["mx.b.test"]
    assert sts["summary"] == {"total-successful-session-count": 3, "total-failure-session-count": 0}, rep
    assert "failure-details" not in sts

    nop = policies["no-policy-found"]
    assert nop["summary"] == {"total-successful-session-count": 0, "total-failure-session-count": 1}, rep
    assert nop["failure-details"] == [{"result-type": "certificate-host-mismatch", "receiving-ip": "127.0.0.3",
                                       "receiving-mx-hostname": "mx.b.test", "failed-session-count": 1}], rep
    # Once per day and domain: a second run sends nothing.
    out = rpt.a.cli("tlsrpt", "send", "--day", day, check=True).stdout
    assert f"tlsrpt day={day} reports=0 messages=0" in out, out
    # Reports are queued with the null sender: none left in A's queue means
    # the first went out and the second run queued nothing.
    assert wait_for(lambda: " <> " not in rpt.queue()), rpt.queue()
    assert len(reports(rpt.b)) == 1


def test_domain_without_record_gets_no_report(dns):
    s = Setup(dns)  # no _smtp._tls.b.test record
    try:
        s.mx("mx.b.test")
        s.https.policy("enforce", mx=("mx.b.test",))
        s.start()
        s.submit("ok")
        assert s.delivered("ok"), s.queue() + s.a.log()[-3000:]
        day = today()
        out = s.a.cli("tlsrpt", "send", "--day", day, check=True).stdout
        assert f"tlsrpt day={day} reports=0 messages=0" in out, out
        bad = s.a.cli("tlsrpt", "send", "--day", "2026-02-30")
        assert bad.returncode != 0 and "invalid --day" in bad.stderr
    finally:
        s.close()
