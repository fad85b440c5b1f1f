"""Issue 15: two Mailfort processes sharing their state through one Redis
([state] backend = "redis"): bans, sending limits and greylisting hold on
both nodes. A real redis-server on a free loopback port (skipped when it is
not installed); node A listens on 127.0.0.2, node B on 127.0.0.3.
"""
import os
import shutil
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import PASSWORD, Instance, add_users, run_as_owner, wait_for
from ports import free_port
from test_hostile_auth import Client, refused_at_connect

ALICE = "alice@example.test"
WRONG = "Not-The-Password-9"
REDIS_PASSWORD = "shared-state-secret"

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


class RedisServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mf-it-redis-")
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--requirepass", REDIS_PASSWORD, "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "-a", REDIS_PASSWORD,
                                                "--no-auth-warning", "PING"],
                                               capture_output=True, text=True).stdout.strip() == "PONG", timeout=10)

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis():
    r = RedisServer()
    r.start()
    yield r
    r.kill()
    shutil.rmtree(r.dir, ignore_errors=True)


@pytest.fixture
def nodes(dns, redis, request):
    made = []
    for host in ("127.0.0.2", "127.0.0.3"):
        inst = Instance(dns)
        secret = os.path.join(inst.dir, "redis.pass")
        with open(secret, "w") as f:
            f.write(REDIS_PASSWORD + "\n")
        os.chmod(secret, 0o600)
        run_as_owner(secret)
        inst.set("state", "backend", '"redis"')
        inst.set("state", "redis_url", f'"redis://127.0.0.1:{redis.port}/0"')
        inst.set("state", "redis_password_file", f'"{secret}"')
        inst.set("state", "redis_key_prefix", '"mfit:"')
        for listener in ("imaps", "mx"):
            inst.listen(listener, host)
        made.append(inst)
    yield made
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for inst in made:
        if inst.proc:
            inst.stop(expect_clean=not failed)
        if failed:
            print(f"--- mailfort log ({inst.dir}) ---\n{inst.log()[-3000:]}")
        else:
            inst.cleanup()


def host_of(inst, listener):
    return inst.hosts.get(listener, "127.0.0.1")


def start_both(nodes, settings):
    """`settings`: {(section, key): TOML value} for both nodes."""
    add_users([(inst, ALICE) for inst in nodes])
    for inst in nodes:
        for (section, key), value in settings.items():
            inst.set(section, key, value)
        inst.start()
    for inst in nodes:
        assert inst.wait_log(r"state backend=redis")


def test_failed_logins_on_both_nodes_ban_on_both(nodes):
    a, b = nodes
    start_both(nodes, {("limits", "auth_failures_before_ban"): "10"})
    src = "127.0.0.9"
    # Ten failures, five on each node (three per connection at most).
    for inst in (a, b):
        left = 5
        while left:
            c = Client(inst, "imaps", src, tls=True, host=host_of(inst, "imaps"))
            assert c.line().startswith(b"* OK")
            for i in range(min(3, left)):
                assert c.imap(f"f{i}", f'LOGIN {ALICE} "{WRONG}"')[-1].startswith(f"f{i} NO".encode())
                left -= 1
            c.close()
    assert b.wait_log(rf"ban ip={src}")
    # Banned on both within about two seconds (A pulls the bans every second).
    for inst in (a, b):
        assert wait_for(lambda: refused_at_connect(inst, "imaps", src, host=host_of(inst, "imaps")), timeout=3)
    # Another client is not affected.
    c = Client(a, "imaps", "127.0.0.10", tls=True, host=host_of(a, "imaps"))
    assert c.line().startswith(b"* OK")
    c.close()
    # `mailfort ban list` on A sees the ban B made; remove lifts it on both.
    listed = a.cli("ban", "list", check=True).stdout
    assert src in listed, listed
    a.cli("ban", "remove", src, check=True)
    for inst in (a, b):
        assert wait_for(lambda: not refused_at_connect(inst, "imaps", src, host=host_of(inst, "imaps")), timeout=3)


def test_hourly_sending_limit_counted_across_nodes(nodes):
    a, b = nodes
    start_both(nodes, {("limits", "send_per_hour_mailbox"): "3", ("delivery", "enabled"): "false"})
    msg = b"To: y@example.test\r\nSubject: limits\r\n\r\nhello\r\n"

    def login(inst):
        s = inst.submission_tls()
        s.login(ALICE, PASSWORD)
        return s

    sa, sb = login(a), login(b)
    assert sa.sendmail(ALICE, ["friend@remote.example"], msg) == {}
    assert sb.sendmail(ALICE, ["friend@remote.example"], msg) == {}
    assert sa.sendmail(ALICE, ["friend@remote.example"], msg) == {}
    for s in (sb, sa):
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail(ALICE, ["friend@remote.example"], msg)
        assert e.value.smtp_code == 450
        assert b"may send 3 messages per hour" in e.value.smtp_error
    sa.quit()
    sb.quit()


def test_greylisted_triplet_passed_on_a_passes_on_b(nodes):
    a, b = nodes
    start_both(nodes, {("inbound", "greylisting"): "true", ("inbound", "greylist_delay_seconds"): "2",
                       ("inbound", "greylist_pass_count"): "5"})
    sender = "x@sender.example"

    def send(inst):
        try:
            s = smtplib.SMTP(host_of(inst, "mx"), inst.ports["mx"], local_hostname="client.example.org",
                             timeout=10, source_address=("127.0.0.13", 0))
            s.sendmail(sender, [ALICE], f"From: {sender}\r\nTo: {ALICE}\r\nSubject: gl\r\n\r\nhello\r\n")
            s.quit()
            return None
        except smtplib.SMTPException as e:
            return e

    e = send(a)
    assert isinstance(e, smtplib.SMTPRecipientsRefused), e
    assert e.recipients[ALICE][0] == 451
    time.sleep(2.5)
    assert send(a) is None  # passes on A after the delay
    assert send(b) is None  # and B knows it: no new greylisting there
    assert b.wait_log(r"postscreen greylist .*action=pass reason=known-triplet")


def test_mail_keeps_flowing_while_redis_is_down(nodes, redis):
    a, b = nodes
    start_both(nodes, {("limits", "send_per_hour_mailbox"): "2", ("delivery", "enabled"): "false"})
    msg = b"To: y@example.test\r\nSubject: outage\r\n\r\nhello\r\n"
    redis.kill()
    s = a.submission_tls()
    s.login(ALICE, PASSWORD)
    # Counted locally now: the limit still holds on this node.
    for _ in range(2):
        assert s.sendmail(ALICE, ["friend@remote.example"], msg) == {}
    with pytest.raises(smtplib.SMTPSenderRefused):
        s.sendmail(ALICE, ["friend@remote.example"], msg)
    s.quit()
    assert a.wait_log(r"redis unreachable, using local state")
    time.sleep(1.5)  # a few ban refreshes fail meanwhile
    assert a.log().count("redis unreachable") == 1, "one warning per outage, not one per call"
    redis.start()
    assert a.wait_log(r"redis reachable again", timeout=10)
