"""The outbound scheduler against a scripted SMTP sink (smtpsink.py) on
127.0.0.4: immediate delivery, connection reuse, per-destination limits,
4xx then 2xx, 5xx bounce, expiry bounce, crash and restart without loss
or duplicates, delay notices, relay_host."""
import re
import signal

import pytest

from conftest import PASSWORD, Instance, close_all, wait_for
from smtpsink import SmtpSink

ALICE = "alice@example.test"
SINK_HOST = "127.0.0.4"


@pytest.fixture
def sink():
    s = SmtpSink(SINK_HOST).start()
    yield s
    s.stop()


@pytest.fixture
def sender(dns, sink):
    """A: alice's server, delivering sink.test (MX -> the sink)."""
    a = Instance(dns)
    a.add_user(ALICE)
    dns.add("sink.test", "MX", "10 mx.sink.test.")
    dns.add("mx.sink.test", "A", SINK_HOST)
    a.set("delivery", "remote_port", str(sink.port))
    a.set("delivery", "source_address", '"127.0.0.2"')
    a.set("queue", "minimal_backoff_seconds", "3600")
    yield a
    close_all(a)


def submit(a, rcpts, subject, sender=ALICE):
    s = a.submission_tls()
    s.login(ALICE, PASSWORD)
    s.sendmail(sender, rcpts, f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n")
    s.quit()


def submit_many(a, rcpt, subjects):
    s = a.submission_tls()
    s.login(ALICE, PASSWORD)
    for subj in subjects:
        s.sendmail(ALICE, [rcpt], f"From: {ALICE}\r\nTo: {rcpt}\r\nSubject: {subj}\r\n\r\nbody {subj}\r\n")
    s.quit()


def queue_text(a):
    return a.cli("queue", "list", check=True).stdout


def attempts(a, rcpt):
    """The outcome of every delivery attempt to `rcpt`, in order, from A's log."""
    return re.findall(rf"delivery id=\S+ to={re.escape(rcpt)} status=(\w+)", a.log())


def reports(a, action):
    return [m for m in a.messages(ALICE) if b"multipart/report" in m and f"Action: {action}".encode() in m]


def test_new_mail_is_delivered_at_once(sender, sink):
    a = sender
    a.set("queue", "minimal_backoff_seconds", "1")
    a.start()
    submit(a, ["bob@sink.test"], "now")
    assert wait_for(lambda: "now" in sink.subjects()), a.log()[-3000:]
    assert wait_for(lambda: "sink.test" not in queue_text(a))
    assert sink.transactions[0].sender == ALICE
    assert sink.transactions[0].rcpts == ["bob@sink.test"]


def test_one_connection_carries_several_messages(sender, sink):
    a = sender
    a.set("delivery", "enabled", "false")
    a.set("delivery", "max_connections_per_destination", "1")
    a.start()
    subjects = [f"batch{i}" for i in range(6)]
    submit_many(a, "bob@sink.test", subjects)
    a.set("delivery", "enabled", "true")
    a.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: len(sink.subjects()) == 6), a.log()[-3000:]
    assert sorted(sink.subjects()) == subjects
    assert sink.connections == 1  # per-destination cap 1, all six on one connection
    assert wait_for(lambda: "sink.test" not in queue_text(a))


def test_messages_arriving_one_by_one_reuse_the_connection(sender, sink):
    a = sender
    a.set("delivery", "connection_reuse_seconds", "60")  # generous: slow CI machines
    a.start()
    for i in range(4):
        submit(a, ["bob@sink.test"], f"seq{i}")
        assert wait_for(lambda: f"seq{i}" in sink.subjects()), a.log()[-3000:]
    assert sink.connections == 1  # the idle connection was kept (connection_reuse_seconds)
    assert re.search(r"conn_use=4", a.log())


def test_stale_cached_connection_is_replaced_without_an_attempt(sender, sink):
    a = sender
    sink.close_after = 1  # the sink drops every connection after one message
    a.start()
    submit(a, ["bob@sink.test"], "first")
    assert wait_for(lambda: "first" in sink.subjects()), a.log()[-3000:]
    assert wait_for(lambda: sink.closed == 1)  # the cached connection is now dead on the remote side
    submit(a, ["bob@sink.test"], "second")
    assert wait_for(lambda: "second" in sink.subjects()), a.log()[-3000:]
    assert sink.connections == 2
    assert "delivery stale-connection" in a.log()
    assert not re.search(r"status=deferred", a.log())  # not counted as a failed attempt
    assert wait_for(lambda: "sink.test" not in queue_text(a))


def test_cached_connection_not_reused_under_another_tls_policy(sender, sink):
    a = sender
    a.start()
    submit(a, ["bob@sink.test"], "before")
    assert wait_for(lambda: "before" in sink.subjects()), a.log()[-3000:]
    # The sink offers no STARTTLS; under "encrypt" a fresh connection
    # fails, so the cached plaintext one must not carry the next message.
    a.cli("tls-policy", "set", "sink.test", "encrypt", check=True)
    submit(a, ["bob@sink.test"], "after")
    assert wait_for(lambda: "does not offer STARTTLS" in queue_text(a)), a.log()[-3000:]
    assert "after" not in sink.subjects()
    assert "cached-connection-dropped" in a.log()


def test_total_connection_cap_and_idle_connections(sender, sink, dns):
    a = sender
    dns.add("sink2.test", "MX", "10 mx.sink.test.")
    a.set("delivery", "max_connections", "1")
    a.set("delivery", "connection_reuse_seconds", "120")
    a.start()
    submit(a, ["bob@sink.test"], "one")
    assert wait_for(lambda: "one" in sink.subjects()), a.log()[-3000:]
    # The only slot is held by an idle connection to sink.test: it must
    # give way to sink2.test rather than sit out its 120 s.
    submit(a, ["bob@sink2.test"], "two")
    assert wait_for(lambda: "two" in sink.subjects(), timeout=20), a.log()[-3000:]
    assert sink.connections == 2


def test_without_pipelining_a_rejected_transaction_is_reset_and_the_connection_reused(sender, sink):
    a = sender
    sink.pipelining = False
    sink.rcpt_reply = lambda addr, n: "550 5.1.1 no such user" if addr == "gone@sink.test" else None
    a.set("delivery", "enabled", "false")
    a.set("delivery", "max_connections_per_destination", "1")
    a.start()
    submit(a, ["gone@sink.test"], "rejected")
    submit(a, ["bob@sink.test"], "accepted")
    a.set("delivery", "enabled", "true")
    a.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "accepted" in sink.subjects()), a.log()[-3000:]
    assert wait_for(lambda: reports(a, "failed")), a.log()[-3000:]
    assert sink.connections == 1 and sink.rsets == 1
    assert sink.subjects() == ["accepted"]


def test_temporary_failure_then_success(sender, sink):
    a = sender
    a.set("queue", "minimal_backoff_seconds", "1")
    sink.rcpt_reply = lambda addr, n: "451 4.3.0 try later" if n == 1 else None
    a.start()
    submit(a, ["bob@sink.test"], "retry")
    assert wait_for(lambda: "retry" in sink.subjects()), a.log()[-3000:]
    assert sink.rcpt_attempts["bob@sink.test"] == 2
    # Gone from the queue: the attempt that sent it was the last (attempts
    # start from the queue file) and no bounce was made.
    assert wait_for(lambda: "sink.test" not in queue_text(a))
    assert attempts(a, "bob@sink.test") == ["deferred", "sent"]
    assert sink.subjects().count("retry") == 1
    assert not reports(a, "failed")


def test_permanent_failure_gives_exactly_one_bounce(sender, sink):
    a = sender
    sink.rcpt_reply = lambda addr, n: "550 5.1.1 no such user" if addr == "gone@sink.test" else None
    a.start()
    submit(a, ["gone@sink.test", "bob@sink.test"], "partly")
    bounce = wait_for(lambda: reports(a, "failed"))
    assert bounce, a.log()[-3000:]
    # Gone from the queue: its bounce, written before the removal, is the only one.
    assert wait_for(lambda: "sink.test" not in queue_text(a))
    assert len(reports(a, "failed")) == 1
    text = bounce[0].decode()
    assert "Final-Recipient: rfc822; gone@sink.test" in text and "Status: 5.1.1" in text
    assert "bob@sink.test" not in text.split("text/rfc822-headers")[0].split("delivery-status")[1]
    assert "To: <alice@example.test>" in text
    assert sink.subjects() == ["partly"] and sink.transactions[0].rcpts == ["bob@sink.test"]


def test_unreachable_until_lifetime_bounces(sender, dns):
    a = sender
    dns.add("dead.test", "A", "127.0.0.5")  # implicit MX, nothing listens there
    a.set("queue", "minimal_backoff_seconds", "1")
    a.set("queue", "maximal_backoff_seconds", "1")
    a.set("queue", "maximal_lifetime_seconds", "3")
    a.start()
    submit(a, ["x@dead.test"], "doomed")
    bounce = wait_for(lambda: reports(a, "failed"))
    assert bounce, queue_text(a) + a.log()[-2000:]
    text = bounce[0].decode()
    assert "expired" in text and "x@dead.test" in text
    # Gone from the queue: its bounce, written before the removal, is the only one.
    assert wait_for(lambda: "dead.test" not in queue_text(a))
    assert len(reports(a, "failed")) == 1


def test_crash_and_restart_lose_and_double_nothing(sender, sink):
    a = sender
    a.set("delivery", "enabled", "false")
    a.set("delivery", "max_connections_per_destination", "1")
    a.start()
    subjects = [f"crash{i}" for i in range(6)]
    submit_many(a, "bob@sink.test", subjects)
    # The third transaction is held before the sink's 250: A dies then.
    seen = []
    sink.hold = lambda tx: (seen.append(tx) or len(seen) == 3)
    a.set("delivery", "enabled", "true")
    a.proc.send_signal(signal.SIGHUP)
    assert sink.holding.wait(20), a.log()[-3000:]
    a.kill()  # SIGKILL
    assert len(sink.subjects()) == 2
    sink.hold = lambda tx: False
    a.start()
    assert wait_for(lambda: len(sink.subjects()) >= 6), queue_text(a) + a.log()[-3000:]
    # All gone from the queue: nothing is attempted again.
    assert wait_for(lambda: "sink.test" not in queue_text(a))
    assert sorted(sink.subjects()) == subjects  # each exactly once


def test_delay_notice_is_sent_once(sender, sink):
    a = sender
    a.set("queue", "minimal_backoff_seconds", "1")
    a.set("queue", "maximal_backoff_seconds", "1")
    a.set("queue", "delay_warning_seconds", "2")
    sink.rcpt_reply = lambda addr, n: "451 4.2.0 busy" if n <= 5 else None
    a.start()
    submit(a, ["slow@sink.test"], "slowly")
    notice = wait_for(lambda: reports(a, "delayed"))
    assert notice, a.log()[-3000:]
    text = notice[0].decode()
    assert "Final-Recipient: rfc822; slow@sink.test" in text and "Status: 4.2.0" in text
    assert "Will-Retry-Until:" in text and "Subject: slowly" in text
    assert wait_for(lambda: "slowly" in sink.subjects()), a.log()[-3000:]
    # Gone from the queue: no attempt, and so no notice, comes after.
    assert wait_for(lambda: "sink.test" not in queue_text(a))
    assert len(reports(a, "delayed")) == 1
    assert not reports(a, "failed")


def test_delay_notice_never_to_the_null_sender(sender, sink):
    a = sender
    a.set("queue", "minimal_backoff_seconds", "1")
    a.set("queue", "maximal_backoff_seconds", "1")
    a.set("queue", "delay_warning_seconds", "1")
    a.set("smtp", "trusted_networks", '["127.0.0.0/8"]')
    sink.rcpt_reply = lambda addr, n: "451 4.2.0 busy" if n <= 3 else None
    a.start()
    s = a.smtp("mx")
    s.sendmail("", ["slow@sink.test"], "From: x@example.org\r\nSubject: nullsender\r\n\r\nbody\r\n")
    s.quit()
    assert wait_for(lambda: "nullsender" in sink.subjects()), a.log()[-3000:]
    assert "delay-notice" not in a.log()


def test_relay_host_without_mx_lookup(sender, sink):
    a = sender
    a.set("delivery", "relay_host", f'"[{SINK_HOST}]:{sink.port}"')
    a.set("delivery", "remote_port", "1")  # not used for the relay
    a.start()
    # No DNS records at all for these domains: the relay takes everything.
    submit(a, ["one@nodns-a.test", "two@nodns-b.test"], "smarthost")
    assert wait_for(lambda: "smarthost" in sink.subjects()), a.log()[-3000:]
    assert sorted(sink.transactions[0].rcpts) == ["one@nodns-a.test", "two@nodns-b.test"]  # one transaction
    assert wait_for(lambda: "nodns" not in queue_text(a))


def test_relay_host_with_mx_lookup(sender, sink, dns):
    a = sender
    dns.add("smarthost.test", "MX", "10 mx.sink.test.")
    a.set("delivery", "relay_host", f'"smarthost.test:{sink.port}"')
    a.start()
    submit(a, ["three@nodns-c.test"], "via-mx")
    assert wait_for(lambda: "via-mx" in sink.subjects()), a.log()[-3000:]
    assert re.search(r"relay=mx\.sink\.test\[127\.0\.0\.4\]", a.log())
