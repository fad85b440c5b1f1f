"""Fixtures: a real Mailfort instance on free loopback ports, and a fake DNS.

Each test gets its own instance (`mailfort init --dev` in a fresh directory,
ports rewritten to free ones, DNS pointed at the test's fake DNS server) and
its own connections. Instances live under /tmp/mailfort-it (mode 0755) so the
unprivileged `mailfort` user the server drops to can reach them when the
tests run as root.
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from dnsserver import FakeDNS  # noqa: E402
from ports import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))
BASE = "/tmp/mailfort-it"
HOST = "mail.example.test"
DOMAIN = "example.test"
PASSWORD = "Sturdy-Lantern-42"
DEV_PORTS = {"mx": 2525, "submission": 2587, "smtps": 2465, "imap": 2143, "imaps": 2993,
             "pop3": 2110, "pop3s": 2995, "managesieve": 4190, "admin": 8080}


def run_as_owner(path):
    """Files the server reads after dropping root must belong to its user."""
    if os.geteuid() == 0:
        shutil.chown(path, "mailfort", "mailfort")


class Instance:
    def __init__(self, dns, hostname=HOST):
        os.makedirs(BASE, exist_ok=True)
        os.chmod(BASE, 0o755)
        self.dir = tempfile.mkdtemp(dir=BASE)
        os.chmod(self.dir, 0o755)
        self.dns = dns
        self.proc = None
        r = subprocess.run([BIN, "init", "--dir", self.dir, "--hostname", hostname, "--domain", DOMAIN, "--dev"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.config = os.path.join(self.dir, "mailfort.toml")
        self.logfile = os.path.join(self.dir, "mailfort.log")
        self.cert = os.path.join(self.dir, "tls", "cert.pem")
        self.key = os.path.join(self.dir, "tls", "key.pem")
        self.ports = {name: free_port() for name in DEV_PORTS}
        self.hosts = {}  # listener name -> address when not 127.0.0.1
        text = open(self.config).read()
        for name, port in DEV_PORTS.items():
            text = text.replace(f'address = "127.0.0.1:{port}"', f'address = "127.0.0.1:{self.ports[name]}"')
        text = text.replace("resolvers = []", f'resolvers = ["{dns.address}"]')
        self._write(text)
        self.set("log", "file", f'"{self.logfile}"')
        self.set("log", "level", '"debug"')

    def _write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def set(self, section, key, value):
        """Sets `key = value` (TOML text) in [section], replacing an existing line."""
        lines = open(self.config).read().split("\n")
        if f"[{section}]" not in lines:
            # Before the first [[listener]] so it stays a top-level table.
            first = next(i for i, l in enumerate(lines) if l.startswith("[[listener]]"))
            lines[first:first] = [f"[{section}]", ""]
        start = lines.index(f"[{section}]")
        end = start + 1
        while end < len(lines) and not lines[end].startswith("["):
            end += 1
        for i in range(start + 1, end):
            if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
                lines[i] = f"{key} = {value}"
                break
        else:
            lines.insert(start + 1, f"{key} = {value}")
        self._write("\n".join(lines))

    def listen(self, listener, host):
        """Moves a listener to another loopback address (e.g. an MX on 127.0.0.3)."""
        port = self.ports[listener]
        text = open(self.config).read().replace(f'address = "127.0.0.1:{port}"', f'address = "{host}:{port}"')
        self._write(text)
        self.hosts[listener] = host

    def cli(self, *args, input=None, check=False):
        r = subprocess.run([BIN, "-c", self.config, *args], capture_output=True, text=True, input=input,
                           timeout=60)
        if check:
            assert r.returncode == 0, f"{args}: {r.stderr}"
        return r

    def add_user(self, address, password=PASSWORD, *extra):
        self.cli("user", "add", address, "--password-stdin", *extra, input=password + "\n", check=True)

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve", "-c", self.config], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr.log"), "w"))
        deadline = time.time() + 15
        pending = dict(self.ports)
        while pending and time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mailfort exited {self.proc.returncode}: {self.stderr()}{self.log()[-2000:]}")
            for name, port in list(pending.items()):
                try:
                    socket.create_connection((self.hosts.get(name, "127.0.0.1"), port), timeout=0.2).close()
                    del pending[name]
                except OSError:
                    pass
            time.sleep(0.05)
        assert not pending, f"listeners not up: {pending}\n{self.log()[-2000:]}"
        return self

    def stop(self, expect_clean=True):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "killed"
        self.proc = None
        if expect_clean:
            assert rc == 0, f"mailfort stopped with {rc}: {self.stderr()}"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def log(self):
        try:
            return open(self.logfile, errors="replace").read()
        except FileNotFoundError:
            return ""

    def stderr(self):
        try:
            return open(os.path.join(self.dir, "stderr.log"), errors="replace").read()
        except FileNotFoundError:
            return ""

    def log_mark(self):
        """A position in the log (after its last complete line): pass it as
        `since` to look only at what is logged from now on."""
        return self.log().rfind("\n") + 1

    def wait_log(self, pattern, timeout=5, since=0):
        """Waits until `pattern` matches the log (from `since` on): the match, or None.
        Only info and above reach the file at once; debug lines wait for the next one."""
        return wait_for(lambda: re.search(pattern, self.log()[since:]), timeout=timeout, step=0.05)

    def wait_disconnect(self, client_port, timeout=5):
        """Waits until the server has ended the session of the client connected
        from `client_port` (its `disconnect` line, logged after the session's
        last action), e.g. before checking that a torn-down client left nothing."""
        connect = self.wait_log(rf"\w+ connect session=(\d+) ip=\S+ port={client_port} ", timeout)
        assert connect, f"no session from port {client_port}"
        ids = re.findall(rf"\w+ connect session=(\d+) ip=\S+ port={client_port} ", self.log())
        return self.wait_log(rf"\w+ disconnect session={ids[-1]} ", timeout)

    def flush_queue_pass(self, timeout=10):
        """Waits for one full pass of the delivery engine over a flushed queue:
        `mailfort queue flush` twice, each time until the engine has taken the
        request (it deletes queue/flush-request at the top of its loop, then
        rescans the queue, makes everything due and starts what it may). The
        second request is taken in the next loop, so the pass that took the
        first one is over: what it would have started has been started."""
        request = os.path.join(self.dir, "data", "queue", "flush-request")
        for _ in range(2):
            self.cli("queue", "flush", check=True)
            assert wait_for(lambda: not os.path.exists(request), timeout=timeout, step=0.05), \
                "the delivery engine did not take the flush request"

    # ---- clients ----
    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def smtp(self, listener="submission", source="127.0.0.1", timeout=10):
        s = smtplib.SMTP(self.hosts.get(listener, "127.0.0.1"), self.ports[listener],
                         local_hostname="client.example.org",
                         source_address=(source, 0), timeout=timeout)
        return s

    def smtps(self, source="127.0.0.1", timeout=10):
        return smtplib.SMTP_SSL("127.0.0.1", self.ports["smtps"], local_hostname="client.example.org",
                                source_address=(source, 0), timeout=timeout,
                                context=self.server_hostname_context())

    def server_hostname_context(self):
        ctx = self.tls_context()
        ctx.check_hostname = False  # we connect by IP; the cert is verified against the CA file
        return ctx

    def submission_tls(self, source="127.0.0.1"):
        s = self.smtp("submission", source)
        s.starttls(context=self.server_hostname_context())
        s.ehlo("client.example.org")
        return s

    def maildir(self, address):
        user, domain = address.split("@")
        return os.path.join(self.dir, "data", "mailboxes", domain, user, "mail")

    def messages(self, address):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(address), sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
        return out

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(pred, timeout=20, step=0.1):
    """Polls `pred` until it returns something true (returned) or `timeout` s pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Raw:
    """A raw SMTP client for what smtplib will not send."""

    def __init__(self, port, source="127.0.0.1", greeting=True):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        self.buf = b""
        if greeting:
            assert self.reply().startswith(b"220")

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply."""
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b" ":
                    out = b"\r\n".join(lines[: i + 1])
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return out
            chunk = self.s.recv(65536)
            if not chunk:
                out, self.buf = self.buf, b""
                return out
            self.buf += chunk

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.s.close()


def add_users(pairs, password=PASSWORD):
    """Adds (instance, address) accounts in parallel: the Argon2id hashing is
    the slow part of a test's set-up."""
    procs = [subprocess.Popen([BIN, "-c", inst.config, "user", "add", addr, "--password-stdin"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for inst, addr in pairs]
    for proc in procs:
        _, err = proc.communicate(password.encode() + b"\n", timeout=60)
        assert proc.returncode == 0, err


def relay_pair(dns, b_domains=("b.test",), b_user="bob@b.test", a_user="alice@example.test"):
    """Two instances for outbound tests: A (sender side, account `a_user`)
    delivers from 127.0.0.2 to B, whose MX listens on 127.0.0.3 for
    `b_domains` (account `b_user`). DNS records are the caller's."""
    a, b = Instance(dns), Instance(dns)
    b.listen("mx", "127.0.0.3")
    for d in b_domains:
        b.cli("domain", "add", d, check=True)
    add_users([(b, b_user), (a, a_user)])
    a.set("delivery", "remote_port", str(b.ports["mx"]))
    a.set("delivery", "source_address", '"127.0.0.2"')
    a.set("queue", "minimal_backoff_seconds", "3600")  # retries only when a test flushes
    return a, b


def close_all(*instances):
    for inst in instances:
        if inst.proc:
            inst.stop(expect_clean=False)
        inst.cleanup()


@pytest.fixture
def dns():
    d = FakeDNS().start()
    yield d
    d.stop()


@pytest.fixture
def instance(dns, request):
    """An initialised, not yet started instance (tests may change its config)."""
    inst = Instance(dns)
    yield inst
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if inst.proc:
        inst.stop(expect_clean=not failed)
    if failed:
        sys.stderr.write(f"\n--- mailfort log ({inst.dir}) ---\n{inst.log()[-4000:]}\n{inst.stderr()[-2000:]}\n")
    else:
        inst.cleanup()


@pytest.fixture
def server(instance):
    """A running instance with user alice@example.test."""
    instance.add_user("alice@example.test")
    instance.start()
    return instance


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
