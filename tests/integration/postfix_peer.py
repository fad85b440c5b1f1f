"""Debian's Postfix as a real peer for tests, started in its own directory
(`postfix -c DIR`: its own main.cf/master.cf, queue and data directories
under a temp dir, its smtpd on 127.0.0.6 only; the system's /etc/postfix and
/var/spool/postfix are not touched) and stopped at the end. Used by
test_postfix_peer.py and test_postscreen.py (greylisting)."""
import os
import shutil
import socket
import subprocess
import tempfile

from conftest import BASE, wait_for
from ports import free_port

POSTFIX = "/usr/sbin/postfix"
PF_HOST = "127.0.0.6"
AVAILABLE = os.path.exists(POSTFIX) and os.geteuid() == 0

MASTER_CF = """\
{port}    inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    def __init__(self, relay_port, extra_main_cf=""):
        """`extra_main_cf`: main.cf lines appended (later lines win in Postfix)."""
        self.dir = tempfile.mkdtemp(dir=BASE, prefix="postfix-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "conf")
        self.maildir = os.path.join(self.dir, "vmail", "mailbox")
        os.makedirs(self.conf)
        os.makedirs(os.path.join(self.dir, "spool"))
        os.makedirs(os.path.join(self.dir, "data"))
        shutil.chown(os.path.join(self.dir, "data"), "postfix", "postfix")
        os.makedirs(os.path.join(self.dir, "vmail"))
        shutil.chown(os.path.join(self.dir, "vmail"), "nobody", "nogroup")
        key, cert = os.path.join(self.conf, "key.pem"), os.path.join(self.conf, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mx.pf.test"],
                       check=True, capture_output=True)
        self.log = os.path.join(self.dir, "maillog")
        main = f"""\
compatibility_level = 3.6
queue_directory = {self.dir}/spool
data_directory = {self.dir}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.log}
maillog_file_prefixes = {self.dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.pf.test
mydomain = pf.test
myorigin = pf.test
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{relay_port}
smtp_dns_support_level = disabled
smtp_tls_security_level = may
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_received_header = yes
virtual_mailbox_domains = pf.test
virtual_mailbox_base = {self.dir}/vmail
virtual_mailbox_maps = static:mailbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
alias_maps =
alias_database =
biff = no
"""
        main += extra_main_cf
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=f"{PF_HOST}:{self.port}"))

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.conf, *args], capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("start")
        assert r.returncode == 0, r.stderr + r.stdout
        assert wait_for(lambda: _connects(PF_HOST, self.port), timeout=15), self.maillog()
        return self

    def stop(self):
        self.postfix("stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def maillog(self):
        try:
            return open(self.log, errors="replace").read()
        except FileNotFoundError:
            return ""

    def messages(self):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    out.append(open(os.path.join(d, name), "rb").read())
        return out


def _connects(host, port):
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False
