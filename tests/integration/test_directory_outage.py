"""Issue 15: the directory's database goes away mid-test and comes back.

While it is down: RCPT gets 451 4.3.0 (for a known and an unknown
recipient alike: nothing is accepted, nothing refused for good), IMAP LOGIN
NO [UNAVAILABLE], POP3 a temporary -ERR [SYS/TEMP], SMTP AUTH 454 4.7.0;
an IMAP session that logged in before keeps SELECTing and FETCHing. Started
again (same port, same data), the server finds it by itself (the pool
reconnects with backoff up to 10 s) and mail accepted before is all there.

Each test has a database server of its own (it is stopped), on MariaDB and
on PostgreSQL."""
import imaplib
import poplib
import smtplib
import time

import pytest

from conftest import PASSWORD, wait_for
from dbservers import MARIADB_AVAILABLE, POSTGRESQL_AVAILABLE, private_server
from directory_cases import (USER1, Env, guide_rows, imap_login, inbox_subjects, mx_send, rcpt_reply,
                             smtp_auth, wait_subject)

USER2 = "user2@example.test"


@pytest.fixture(params=[
    pytest.param("mysql", marks=pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs mariadb-server")),
    pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs postgresql-15")),
])
def outage(request, instance, dns):
    engine = request.param
    server = private_server(engine)
    e = Env(engine, server, "vmail", instance, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.sql("insert into accounts (username, domain, password, quota, enabled, sendonly) "
          f"select 'user2', domain, password, quota, enabled, sendonly from accounts where username = 'user1'")
    # Every lookup and every login asks the database.
    e.configure(cache_seconds=0)
    instance.set("directory", "auth_cache_seconds", "0")
    e.init_schema()
    yield e
    server.cleanup()


def pop3_login(inst, user, password=PASSWORD):
    """The reply to PASS (bytes) on pop3s; raises poplib.error_proto with it on -ERR."""
    p = poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], context=inst.server_hostname_context(), timeout=20)
    try:
        p.user(user)
        return p.pass_(password)
    finally:
        try:
            p.quit()
        except (poplib.error_proto, OSError):
            pass


def test_database_down_gives_temporary_errors_and_service_resumes_by_itself(outage):
    inst, server = outage.inst, outage.server
    inst.start()
    assert mx_send(inst, [USER1], "before-outage") == {}
    assert wait_subject(inst, USER1, "before-outage")

    # A session that logged in before the outage.
    held = imap_login(inst, USER1)
    assert held.select("INBOX")[0] == "OK"

    server.stop()
    assert not server.running()
    t0 = time.monotonic()

    for rcpt in (USER1, "nobody@example.test", "alias@example.test"):
        code, text, alive = rcpt_reply(inst, rcpt)
        assert (code, alive) == (451, True) and "4.3.0" in text, (rcpt, code, text)
    assert time.monotonic() - t0 < 15, "a down database must not hold sessions (connect_timeout_seconds = 3)"

    with pytest.raises(imaplib.IMAP4.error) as e:
        imap_login(inst, USER2)
    assert "[UNAVAILABLE]" in str(e.value), e.value

    with pytest.raises(poplib.error_proto) as e:
        pop3_login(inst, USER2)
    assert b"[SYS/TEMP]" in e.value.args[0], e.value

    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        smtp_auth(inst, USER2)
    assert e.value.smtp_code == 454 and e.value.smtp_error.startswith(b"4.7.0"), e.value

    # The session logged in before the outage keeps working.
    assert held.noop()[0] == "OK"
    typ, data = held.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1, data
    typ, data = held.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"before-outage" in data[0][1], data
    typ, data = held.search(None, "ALL")
    assert typ == "OK" and data[0].split(), data

    # Back on the same port with the same data: service resumes without a restart.
    server.start()
    assert wait_for(lambda: rcpt_reply(inst, USER1)[0] == 250, timeout=25, step=0.5), \
        "the pool must reconnect by itself (backoff at most 10 s)"
    assert rcpt_reply(inst, "nobody@example.test")[0] == 550
    imap_login(inst, USER2).logout()
    assert pop3_login(inst, USER2).startswith(b"+OK")
    smtp_auth(inst, USER2).quit()
    assert mx_send(inst, [USER1], "after-outage") == {}
    assert wait_subject(inst, USER1, "after-outage")
    subjects = inbox_subjects(inst, USER1)
    assert subjects.count("before-outage") == 1 and subjects.count("after-outage") == 1, subjects
    held.logout()
    assert inst.proc.poll() is None, "the server must have kept running"


def test_database_killed_under_open_connections(outage):
    """SIGKILL: the pool's connections break without a goodbye; the next
    lookups fail temporarily (the broken connection is dropped, not reused)
    and the pool reconnects when the server is back."""
    inst, server = outage.inst, outage.server
    inst.start()
    # Warm the pool: several lookups leave open connections behind.
    for _ in range(3):
        assert rcpt_reply(inst, USER1)[0] == 250
    imap_login(inst, USER1).logout()
    server.kill()
    code, text, alive = rcpt_reply(inst, USER1)
    assert (code, alive) == (451, True) and "4.3.0" in text, text
    server.start()
    assert wait_for(lambda: rcpt_reply(inst, USER1)[0] == 250, timeout=25, step=0.5)
    imap_login(inst, USER1).logout()
    assert inst.proc.poll() is None
