"""Issue 15: two Mailfort nodes serving one user base.

Node A (node-a.example.test, every listener on 127.0.0.2) and node B
(node-b.example.test, 127.0.0.3) share one directory database (the guide's
schema; PostgreSQL, and in a second run MariaDB) and one Redis ([state]
backend = "redis", one key prefix). Clients connect from chosen loopback
sources (as test_hostile_auth.py does), so both nodes see the same client IP.

- an account added with A's CLI logs in on B within cache_seconds;
- 10 failed logins spread over A and B ban the IP on both;
- a mailbox's hourly sending limit counts the messages sent through both;
- a greylisted triplet passed on A passes on B;
- Redis stopped: mail keeps flowing on both (local state); started again:
  state is shared again.
"""
import re
import smtplib
import sys
import time

import pytest

from conftest import DEV_PORTS, PASSWORD, Instance, close_all, wait_for
from dbservers import (MARIADB_AVAILABLE, POSTGRESQL_AVAILABLE, REDIS_AVAILABLE, ENGINES, Redis,  # noqa: F401
                       shared_mariadb, shared_postgresql)
from directory_cases import (USER1, Env, database_name, guide_rows, imap_login, imap_login_fails, mx_send,
                             rcpt_reply, smtp_auth, toml, use_server_directory, wait_subject)
from test_hostile_auth import Client

pytestmark = pytest.mark.skipif(not REDIS_AVAILABLE, reason="needs redis-server")

USER2 = "user2@example.test"
CACHE_SECONDS = 2
WRONG = "Wrong-Password-0"
MSG = b"To: friend@remote.example\r\nSubject: limits\r\n\r\nhello\r\n"


class Cluster:
    def __init__(self, env, redis, a, b, prefix):
        self.env, self.redis, self.a, self.b, self.prefix = env, redis, a, b, prefix
        self.nodes = (a, b)

    def set_both(self, section, key, value):
        for n in self.nodes:
            n.set(section, key, value)

    def start(self):
        for n in self.nodes:
            n.start()

    def keys(self):
        return self.redis.keys(self.prefix + "*")


def make_node(dns, name, ip):
    n = Instance(dns, hostname=f"{name}.example.test")
    for listener in DEV_PORTS:
        n.listen(listener, ip)
    return n


@pytest.fixture(params=[
    pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs postgresql-15")),
    pytest.param("mysql", marks=pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs mariadb-server")),
])
def cluster(request, dns):
    engine = request.param
    server = request.getfixturevalue(ENGINES[engine][2])
    db = server.create_database("nodes_" + database_name(request))
    redis = Redis()
    a = make_node(dns, "node-a", "127.0.0.2")
    b = make_node(dns, "node-b", "127.0.0.3")
    e = Env(engine, server, db, a, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.sql("insert into accounts (username, domain, password, quota, enabled, sendonly) "
          "select 'user2', domain, password, quota, enabled, sendonly from accounts where username = 'user1'")
    prefix = "mf-" + re.sub(r"\W", "", request.node.name)[-20:] + ":"
    for n in (a, b):
        use_server_directory(n, engine, server, db, cache_seconds=CACHE_SECONDS)
        n.set("state", "backend", '"redis"')
        n.set("state", "redis_url", toml(redis.url()))
        n.set("state", "redis_password_file", toml(redis.password_file))
        n.set("state", "redis_key_prefix", toml(prefix))
        n.set("state", "redis_timeout_ms", "300")
    e.init_schema(a)
    c = Cluster(e, redis, a, b, prefix)
    yield c
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for n in (a, b):
            sys.stderr.write(f"\n--- {n.dir} ---\n{n.log()[-3000:]}\n{n.stderr()[-1000:]}\n")
        sys.stderr.write(f"\n--- redis keys ---\n{redis.keys()}\n")
    close_all(a, b)
    redis.cleanup()
    server.drop_database(db)


# ------------------------------------------------------------------ helpers

def failed_login(node, source):
    """One failed LOGIN over imaps from `source` on a connection of its own."""
    c = Client(node, "imaps", source, tls=True, host=node.hosts["imaps"], timeout=10)
    try:
        greeting = c.line()
        if greeting is None or not greeting.startswith(b"* OK"):
            return None  # refused at connect (banned)
        return c.imap("f", f'LOGIN {USER1} "{WRONG}"')[-1]
    finally:
        c.close()


def greeted(node, source):
    """A new imaps connection from `source` gets the server's greeting."""
    try:
        c = Client(node, "imaps", source, tls=True, host=node.hosts["imaps"], timeout=5)
    except OSError:
        return False
    try:
        first = c.line()
        return first is not None and first.startswith(b"* OK")
    except OSError:
        return False
    finally:
        c.close()


def login_refused(node, source):
    """A client from `source` cannot log in with the right password: closed
    at connect, or LOGIN refused."""
    try:
        c = Client(node, "imaps", source, tls=True, host=node.hosts["imaps"], timeout=5)
    except OSError:
        return True
    try:
        first = c.line()
        if first is None or not first.startswith(b"* OK"):
            return True
        last = c.imap("ok", f'LOGIN {USER1} "{PASSWORD}"')[-1]
        return last is None or not last.startswith(b"ok OK")
    except OSError:
        return True
    finally:
        c.close()


def submit(node, user, count=1):
    s = smtp_auth(node, user)
    try:
        for _ in range(count):
            assert s.sendmail(user, ["friend@remote.example"], MSG) == {}
    finally:
        s.quit()


def refused_at_mail(node, user):
    s = smtp_auth(node, user)
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(user, ["friend@remote.example"], MSG)
        return e.value
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def mx_from(node, source, sender, rcpt=USER1, subject="greylisting"):
    """One message over node's MX from `source`: None when taken, else the exception."""
    try:
        s = node.smtp("mx", source=source)
        s.sendmail(sender, [rcpt], f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhello\r\n")
        s.quit()
        return None
    except smtplib.SMTPException as e:
        return e


def greylisted(e):
    return isinstance(e, smtplib.SMTPRecipientsRefused) and list(e.recipients.values())[0][0] == 451


# -------------------------------------------------------------------- tests

def test_account_added_with_node_a_cli_logs_in_on_node_b(cluster):
    a, b = cluster.a, cluster.b
    cluster.start()
    new = "newcomer@example.test"
    # B has looked it up (and may remember "unknown" for cache_seconds).
    assert rcpt_reply(b, new)[0] == 550
    assert "AUTHENTICATIONFAILED" in imap_login_fails(b, new)
    a.cli("user", "add", new, "--password-stdin", input=PASSWORD + "\n", check=True)
    t0 = time.monotonic()
    assert wait_for(lambda: rcpt_reply(b, new)[0] == 250, timeout=CACHE_SECONDS + 8, step=0.25)
    imap_login(b, new).logout()
    elapsed = time.monotonic() - t0
    assert elapsed < CACHE_SECONDS + 8, elapsed
    # And mail for it is delivered on B.
    assert mx_send(b, [new], "hello-newcomer") == {}
    assert wait_subject(b, new, "hello-newcomer")
    # Disabled on B's CLI: A refuses it within cache_seconds.
    b.cli("user", "disable", new, check=True)
    assert wait_for(lambda: rcpt_reply(a, new)[0] == 550, timeout=CACHE_SECONDS + 8, step=0.25)
    assert "AUTHENTICATIONFAILED" in imap_login_fails(a, new)


def test_failed_logins_spread_over_both_nodes_ban_the_ip_on_both(cluster):
    a, b = cluster.a, cluster.b
    cluster.set_both("limits", "auth_failures_before_ban", "10")
    cluster.start()
    src, other = "127.0.0.66", "127.0.0.67"
    # 9 failures, alternating A and B: no ban yet on either.
    for i in range(9):
        node = (a, b)[i % 2]
        reply = failed_login(node, src)
        assert reply is not None and reply.startswith(b"f NO"), (i, reply)
    # (A successful login might reset the count: only look.)
    for node in (a, b):
        assert greeted(node, src), "9 failures must not ban"
        assert src not in node.cli("ban", "list", check=True).stdout
    # The 10th (on B: 5 on A, 5 on B).
    reply = failed_login(b, src)
    assert reply is not None and reply.startswith(b"f NO"), reply
    assert wait_for(lambda: login_refused(a, src) and login_refused(b, src), timeout=5, step=0.2), \
        "the ban must hold on both nodes"
    # Per IP: another client logs in on both.
    for node in (a, b):
        c = Client(node, "imaps", other, tls=True, host=node.hosts["imaps"])
        assert c.line().startswith(b"* OK")
        assert c.imap("ok", f'LOGIN {USER1} "{PASSWORD}"')[-1].startswith(b"ok OK")
        c.close()
    # Both CLIs list it, and it lives under the cluster's key prefix.
    for node in (a, b):
        assert src in node.cli("ban", "list", check=True).stdout
    assert cluster.keys(), "state must be in Redis under redis_key_prefix"
    # Lifted on A's CLI: B lets it in again.
    a.cli("ban", "remove", src, check=True)
    assert wait_for(lambda: not login_refused(b, src), timeout=5, step=0.2)


def test_hourly_sending_limit_is_counted_across_both_nodes(cluster):
    a, b = cluster.a, cluster.b
    cluster.set_both("limits", "send_per_hour_mailbox", "3")
    cluster.set_both("delivery", "enabled", "false")  # submitted mail stays queued
    cluster.start()
    submit(a, USER1, 2)
    submit(b, USER1, 1)
    for node in (a, b):
        e = refused_at_mail(node, USER1)
        assert e.smtp_code == 450 and e.smtp_error.startswith(b"4.7.1"), e
    # Another mailbox is counted apart.
    submit(b, USER2, 1)
    submit(a, USER2, 2)
    e = refused_at_mail(b, USER2)
    assert e.smtp_code == 450, e


def test_greylisted_triplet_passed_on_node_a_passes_on_node_b(cluster):
    a, b = cluster.a, cluster.b
    cluster.set_both("inbound", "greylisting", "true")
    cluster.set_both("inbound", "greylist_delay_seconds", "2")
    cluster.set_both("inbound", "greylist_pass_count", "5")  # the triplet, not the network, passes
    cluster.start()
    src, sender = "127.0.0.44", "dave@sender.example"
    e = mx_from(a, src, sender)
    assert greylisted(e), e
    # Retried on A after the delay: passes.
    assert wait_for(lambda: mx_from(a, src, sender, subject="via-a") is None, timeout=15, step=0.5)
    # The same triplet on B, which never saw it itself: passes at once.
    assert mx_from(b, src, sender, subject="via-b") is None
    assert wait_subject(b, USER1, "via-b")
    # A new triplet on B is still greylisted (B does greylist).
    assert greylisted(mx_from(b, src, "erin@sender.example"))


def test_redis_down_mail_flows_on_both_nodes_and_sharing_resumes(cluster):
    a, b, redis = cluster.a, cluster.b, cluster.redis
    cluster.set_both("limits", "send_per_hour_mailbox", "3")
    cluster.set_both("delivery", "enabled", "false")
    cluster.start()
    assert mx_send(a, [USER1], "redis-up-a") == {}

    redis.stop()
    for node, name in ((a, "a"), (b, "b")):
        t0 = time.monotonic()
        assert mx_send(node, [USER1], f"redis-down-{name}") == {}
        assert time.monotonic() - t0 < 10, "a down Redis must not hold sessions (redis_timeout_ms = 300)"
        assert wait_subject(node, USER1, f"redis-down-{name}")
        smtp_auth(node, USER2).quit()
        imap_login(node, USER2).logout()
    # Local fallback still counts (per node).
    submit(a, USER1, 3)
    assert refused_at_mail(a, USER1).smtp_code == 450

    redis.start()
    redis.cli("FLUSHALL")
    # Each node writes to Redis again (after its reconnect backoff): failed
    # logins from a fresh source each time (never enough for a ban).
    for node in (a, b):
        seen = []

        def probe():
            seen.append(1)
            failed_login(node, f"127.0.0.{100 + len(seen)}")
            return cluster.keys()

        assert wait_for(probe, timeout=30, step=0.5), f"{node.dir}: no state in Redis after it came back"
        redis.cli("FLUSHALL")
    # Shared again: USER2's limit counts across both nodes.
    submit(a, USER2, 2)
    submit(b, USER2, 1)
    for node in (a, b):
        assert refused_at_mail(node, USER2).smtp_code == 450
