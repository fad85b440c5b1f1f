"""Debian's Rspamd as a real peer for tests and benchmarks, with a private
configuration in a temp dir and on free loopback ports; the system's
/etc/rspamd is only read (its stock rules, scores and modules), never
changed, and the system's rspamd service is not touched.

    from rspamd_peer import Rspamd
    r = Rspamd(dns_address="127.0.0.1:PORT").start()   # blocks until it answers
    r.normal_url        # "http://127.0.0.1:P"  /checkv2   ([spam] rspamd_url)
    r.controller_url    # "http://127.0.0.1:P"  /learnspam, /stat ([spam] rspamd_controller_url)
    r.password_file     # the controller's password ([spam] rspamd_password_file)
    r.milter_address    # "127.0.0.1:P"  the proxy worker in milter mode ([[milter]] address)
    r.rspamc("stat")    # rspamc against the controller, with the password
    r.bayes_learns()    # {"BAYES_SPAM": n, "BAYES_HAM": n} from the controller's /stat
    r.stop()            # also stops its redis-server; r.start() starts both again

What is set up:
  - a normal worker, a controller with a password (loopback is NOT a
    secure_ip, so every controller request must carry it), and a proxy
    worker in milter mode that scans itself (self_scan: no upstream);
  - DNS only through `dns_address` (the test's fake DNS): Rspamd never
    asks the system resolver or the internet;
  - a redis-server of its own (statistics, Bayes) on a free port;
  - modules that need the internet or that would act on their own
    (fuzzy_check, greylist, ratelimit, rspamd_update, replies...) disabled;
  - Bayes with min_learns `bayes_min_learns` (default 1), so a test sees it
    vote after a few learns.
Rspamd compiles its regular expressions with Hyperscan at start (tens of
seconds of CPU); the compiled databases are kept in CACHE_DIR, shared by
every peer (their names are hashes of the expressions), so only the first
start of a machine pays it.

Rspamd refuses to run as root, so under root it runs as Debian's _rspamd
user (its temp dir is chowned to it).
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from ports import free_port

RSPAMD = "/usr/bin/rspamd"
RSPAMC = "/usr/bin/rspamc"
REDIS = "/usr/bin/redis-server"
BASE = "/tmp/mailfort-it"
CACHE_DIR = os.path.join(BASE, "rspamd-hs-cache")
AVAILABLE = all(os.path.exists(p) for p in (RSPAMD, RSPAMC, REDIS))
PASSWORD = "Quiet-Harbour-71"

TOP_CONF = """\
.include "$CONFDIR/common.conf"

options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}}

logging {{
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "{log_level}";
}}

worker "normal" {{
    bind_socket = "127.0.0.1:{normal}";
    .include "$CONFDIR/worker-normal.inc"
    count = {workers};
    task_timeout = 20s;
}}

worker "controller" {{
    bind_socket = "127.0.0.1:{controller}";
    count = 1;
    password = "{password}";
    enable_password = "{password}";
    secure_ip = "192.0.2.1";
    static_dir = "${{WWWDIR}}";
}}

worker "rspamd_proxy" {{
    bind_socket = "127.0.0.1:{proxy}";
    milter = yes;
    timeout = 120s;
    count = 1;
    max_retries = 5;
    discard_on_reject = false;
    quarantine_on_reject = false;
    spam_header = "X-Spam";
    reject_message = "Spam message rejected";
    upstream "local" {{
        default = yes;
        self_scan = yes;
    }}
}}
"""

OPTIONS_INC = """\
dns {{
    nameserver = ["{dns}"];
    timeout = 1s;
    retransmits = 2;
}}
hs_cache_dir = "{hs_cache}";
local_addrs = [];
"""

# Modules that would talk to the internet, act on their own (greylist,
# rate limits) or slow every start (map downloads) are off.
DISABLED = ["fuzzy_check", "greylist", "ratelimit", "rspamd_update", "replies", "neural",
            "reputation", "metadata_exporter", "clickhouse", "elastic", "dcc", "p0f",
            "url_redirector", "history_redis", "mx_check", "bimi", "external_services",
            "spamtrap", "dkim_signing", "arc"]


def _wait_port(port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Rspamd:
    def __init__(self, dns_address, bayes_min_learns=1, workers=1, log_level="info"):
        """`dns_address`: "127.0.0.1:PORT" of the fake DNS (FakeDNS.address)."""
        os.makedirs(BASE, exist_ok=True)
        self.dir = tempfile.mkdtemp(dir=BASE, prefix="rspamd-")
        os.chmod(self.dir, 0o755)
        self.normal_port, self.controller_port, self.proxy_port, self.redis_port = (
            free_port(), free_port(), free_port(), free_port())
        self.normal_url = f"http://127.0.0.1:{self.normal_port}"
        self.controller_url = f"http://127.0.0.1:{self.controller_port}"
        self.milter_address = f"127.0.0.1:{self.proxy_port}"
        self.password = PASSWORD
        self.proc = None
        self.redis = None
        for sub in ("local/local.d", "db", "run", "log", "redis"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.makedirs(CACHE_DIR, exist_ok=True)
        self.password_file = os.path.join(self.dir, "controller.password")
        with open(self.password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(self.password_file, 0o644)  # the mailfort user reads it after dropping root
        self.config = os.path.join(self.dir, "rspamd.conf")
        with open(self.config, "w") as f:
            f.write(TOP_CONF.format(normal=self.normal_port, controller=self.controller_port,
                                    proxy=self.proxy_port, password=PASSWORD, workers=workers,
                                    log_level=log_level))
        local = os.path.join(self.dir, "local", "local.d")
        dns = dns_address if ":" in dns_address else dns_address + ":53"
        self._local(local, "options.inc", OPTIONS_INC.format(
            dns=dns, hs_cache=CACHE_DIR))
        self._local(local, "redis.conf", f'servers = "127.0.0.1:{self.redis_port}";\n')
        self._local(local, "classifier-bayes.conf",
                    f'backend = "redis";\nservers = "127.0.0.1:{self.redis_port}";\n'
                    f"min_learns = {bayes_min_learns};\nautolearn = false;\n")
        for module in DISABLED:
            self._local(local, f"{module}.conf", "enabled = false;\n")
        if os.geteuid() == 0:
            for root, dirs, files in os.walk(self.dir):
                for name in dirs + files:
                    shutil.chown(os.path.join(root, name), "_rspamd", "_rspamd")
            shutil.chown(self.dir, "_rspamd", "_rspamd")
            shutil.chown(CACHE_DIR, "_rspamd", "_rspamd")

    @staticmethod
    def _local(d, name, text):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)

    def log(self):
        try:
            return open(os.path.join(self.dir, "log", "rspamd.log"), errors="replace").read()
        except FileNotFoundError:
            return ""

    def start(self, timeout=120):
        self.redis = subprocess.Popen(
            [REDIS, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", os.path.join(self.dir, "redis"), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert _wait_port(self.redis_port, 10), "redis-server did not start"
        args = [RSPAMD, "-f", "-c", self.config,
                "--var", "CONFDIR=/etc/rspamd",
                "--var", f"LOCAL_CONFDIR={os.path.join(self.dir, 'local')}",
                "--var", f"DBDIR={os.path.join(self.dir, 'db')}",
                "--var", f"RUNDIR={os.path.join(self.dir, 'run')}",
                "--var", f"LOGDIR={os.path.join(self.dir, 'log')}"]
        if os.geteuid() == 0:
            args += ["-u", "_rspamd", "-g", "_rspamd"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "stderr.log"), "w"),
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = open(os.path.join(self.dir, "stderr.log")).read()
                self.stop()
                raise AssertionError(f"rspamd exited {self.proc.returncode}: {err}\n{self.log()[-3000:]}")
            if self.ping():
                break
            time.sleep(0.2)
        else:
            log = self.log()[-3000:]
            self.stop()
            raise AssertionError(f"rspamd did not answer in {timeout}s\n{log}")
        assert _wait_port(self.controller_port, 30) and _wait_port(self.proxy_port, 30), self.log()[-3000:]
        return self

    def ping(self):
        try:
            with urllib.request.urlopen(self.normal_url + "/ping", timeout=1) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def pids(self):
        """The main process and its workers (for CPU accounting from /proc)."""
        if not self.proc:
            return []
        out = [self.proc.pid]
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{p}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.proc.pid:
                        out.append(int(p))
                except (OSError, IndexError, ValueError):
                    pass
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
                self.redis.wait()
        self.redis = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- clients ----
    def rspamc(self, *args, input=None, controller=True, timeout=60):
        host = f"127.0.0.1:{self.controller_port if controller else self.normal_port}"
        return subprocess.run([RSPAMC, "-h", host, "-P", self.password, *args], input=input,
                              capture_output=True, timeout=timeout)

    def check(self, message, **headers):
        """POSTs `message` (bytes) to /checkv2: Rspamd's JSON answer."""
        req = urllib.request.Request(self.normal_url + "/checkv2", data=message, method="POST",
                                     headers={k.replace("_", "-"): v for k, v in headers.items()})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stat(self):
        req = urllib.request.Request(self.controller_url + "/stat", headers={"Password": self.password})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def bayes_learns(self):
        """Learned messages per class, {"BAYES_SPAM": n, "BAYES_HAM": n}, read
        from Redis (the controller's /stat refreshes its Redis figures only
        every minute or so; Rspamd keeps the counts in the RS and RH hashes)."""
        out = {}
        for symbol, key in (("BAYES_SPAM", "RS"), ("BAYES_HAM", "RH")):
            r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.redis_port), "HGET", key, "learns"],
                               capture_output=True, text=True, timeout=10)
            out[symbol] = int(r.stdout.strip() or 0)
        return out
