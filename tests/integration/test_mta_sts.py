"""MTA-STS (RFC 8461) for outbound delivery.

A relays to B (MX for b.test on 127.0.0.3) as in test_outbound.py. The test
makes its own CA: B gets a certificate for mx.b.test, the test's HTTPS
server on 127.0.0.43:443 one for mta-sts.b.test, and A trusts the CA through
[delivery] ca_file. The fake DNS answers _mta-sts.b.test TXT,
mta-sts.b.test A and the MX records; the HTTPS server serves whatever policy
the test sets at /.well-known/mta-sts.txt.
"""
import http.server
import os
import re
import shutil
import ssl
import subprocess
import threading

import pytest

from conftest import PASSWORD, close_all, relay_pair, run_as_owner, wait_for
from signedzone import SignedZone, tools_available
from test_dane import BOB as DANE_BOB
from test_dane import ZONE as DANE_ZONE
from test_dane import Pair as DanePair
from test_dane import spki_sha256

ALICE = "alice@example.test"
BOB = "bob@b.test"
STS_ADDR = "127.0.0.43"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=MTA-STS test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    return os.path.join(d, "ca.pem")


def make_cert(d, name):
    """A leaf certificate for `name` signed by the test CA: (cert, key)."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


class PolicyServer:
    """HTTPS on STS_ADDR:443 serving `self.reply` = (status, content type, body, headers)."""

    def __init__(self, cert, key):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, ctype, body, headers = server.reply
                server.requests.append((self.headers.get("Host"), self.path))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.reply = (200, "text/plain", "", {})
        self.requests = []
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer((STS_ADDR, 443), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def policy(self, mode, mx=("mx.b.test",), max_age=86400, ctype="text/plain", status=200, headers=None):
        body = "version: STSv1\r\nmode: %s\r\n" % mode + "".join(f"mx: {m}\r\n" for m in mx) + \
            f"max_age: {max_age}\r\n"
        self.reply = (status, ctype, body, headers or {})

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class Setup:
    def __init__(self, dns):
        self.dns = dns
        self.a, self.b = relay_pair(dns)
        self.ca_dir = os.path.join(self.a.dir, "ca")
        os.makedirs(self.ca_dir)
        ca = make_ca(self.ca_dir)
        run_as_owner(ca)
        self.a.set("delivery", "ca_file", f'"{ca}"')
        # B presents a CA-signed certificate for mx.b.test.
        cert, key = make_cert(self.ca_dir, "mx.b.test")
        shutil.copy(cert, self.b.cert)
        shutil.copy(key, self.b.key)
        for f in (self.b.cert, self.b.key):
            run_as_owner(f)
        self.https = PolicyServer(*make_cert(self.ca_dir, "mta-sts.b.test"))
        dns.add("_mta-sts.b.test", "TXT", '"v=STSv1; id=20260101T000000;"')
        dns.add("mta-sts.b.test", "A", STS_ADDR)
        for name in ("mx.b.test", "other.b.test", "mx2.b.test"):
            dns.add(name, "A", "127.0.0.3")

    def mx(self, host):
        self.dns.add("b.test", "MX", f"10 {host}.")

    def start(self):
        self.a.start()
        self.b.start()

    def submit(self, subject="hello"):
        s = self.a.submission_tls()
        s.login(ALICE, PASSWORD)
        s.sendmail(ALICE, [BOB], f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n")
        s.quit()

    def queue(self):
        return self.a.cli("queue", "list", check=True).stdout

    def deferred(self, pattern):
        return wait_for(lambda: re.search(rf"{re.escape(BOB)} \S+ [1-9]\d* .*{pattern}", self.queue()))

    def delivered(self, subject):
        return wait_for(lambda: any(f"Subject: {subject}".encode() in m for m in self.b.messages(BOB)))

    def close(self):
        self.https.stop()
        close_all(self.a, self.b)


@pytest.fixture
def sts(dns):
    s = Setup(dns)
    yield s
    s.close()


def test_enforce_matching_mx_delivers_verified(sts):
    sts.mx("mx.b.test")
    sts.https.policy("enforce", mx=("mx.b.test",))
    sts.start()
    sts.submit("e1")
    assert sts.delivered("e1"), sts.queue() + sts.a.log()[-3000:]
    assert sts.a.wait_log(r"delivery id=\S+ to=bob@b\.test status=sent detail=.*TLSv1\.\d \S+ verified"), \
        sts.a.log()[-3000:]
    assert re.search(r"mta-sts policy domain=b\.test id=20260101T000000 mode=enforce", sts.a.log())
    assert sts.https.requests == [("mta-sts.b.test", "/.well-known/mta-sts.txt")]
    # The policy is cached on disk with its id.
    assert os.path.exists(os.path.join(sts.a.dir, "data", "mta-sts", "b.test.json"))


def test_enforce_wildcard_and_cert_name_mismatch_defers(sts):
    # mx2.b.test is allowed by the wildcard, but B's certificate names mx.b.test.
    sts.mx("mx2.b.test")
    sts.https.policy("enforce", mx=("*.b.test",))
    sts.start()
    sts.submit("e2")
    assert sts.deferred("TLS policy mta-sts not met by mx2.b.test"), sts.queue() + sts.a.log()[-3000:]
    assert not sts.b.messages(BOB)
    assert ALICE not in sts.b.log()  # never a MAIL FROM, in plaintext or otherwise


def test_enforce_mx_not_in_policy_defers(sts):
    sts.mx("mx.b.test")
    sts.https.policy("enforce", mx=("other.b.test",))
    sts.start()
    sts.submit("e3")
    assert sts.deferred(r"MX host mx\.b\.test is not allowed by the MTA-STS policy of b\.test"), sts.queue()
    assert not sts.b.messages(BOB)
    # A never connected (the start-up probe comes from 127.0.0.1, A from 127.0.0.2).
    assert "ip=127.0.0.2" not in sts.b.log() and ALICE not in sts.b.log()


def test_testing_mode_delivers_and_logs(sts):
    sts.mx("mx.b.test")
    sts.https.policy("testing", mx=("other.b.test",))
    sts.start()
    sts.submit("t1")
    assert sts.delivered("t1"), sts.queue() + sts.a.log()[-3000:]
    assert re.search(r"mta-sts testing domain=b\.test mx=mx\.b\.test would-fail=", sts.a.log()), sts.a.log()[-3000:]


def test_testing_mode_bad_certificate_delivers_and_logs(sts):
    sts.mx("mx2.b.test")  # in the policy, but B's certificate names mx.b.test
    sts.https.policy("testing", mx=("mx2.b.test",))
    sts.start()
    sts.submit("t2")
    assert sts.delivered("t2"), sts.queue() + sts.a.log()[-3000:]
    assert re.search(r'mta-sts testing domain=b\.test mx=mx2\.b\.test would-fail="certificate verification failed',
                     sts.a.log()), sts.a.log()[-3000:]


def test_tls_policy_row_overrides_enforce(sts):
    sts.mx("mx.b.test")
    sts.https.policy("enforce", mx=("other.b.test",))
    sts.a.cli("tls-policy", "set", "b.test", "may", check=True)
    sts.start()
    sts.submit("row")
    assert sts.delivered("row"), sts.queue() + sts.a.log()[-3000:]
    assert sts.https.requests == []  # not even fetched


def test_cached_policy_survives_restart_without_https(sts):
    sts.mx("mx.b.test")
    sts.https.policy("enforce", mx=("mx.b.test",))
    sts.start()
    sts.submit("c1")
    assert sts.delivered("c1"), sts.queue() + sts.a.log()[-3000:]
    sts.a.stop()
    sts.https.stop()
    # The MX moves to a host the cached policy does not allow.
    with sts.dns.lock:
        sts.dns.records["b.test"] = [("MX", "10 other.b.test.")]
    sts.a.start()
    sts.submit("c2")
    assert sts.deferred(r"MX host other\.b\.test is not allowed by the MTA-STS policy"), sts.queue()
    # Also when the TXT id changes and the refetch fails (RFC 8461 5.1); a
    # restart forgets the resolver's cached TXT answer.
    sts.a.stop()
    with sts.dns.lock:
        sts.dns.records["_mta-sts.b.test"] = [("TXT", '"v=STSv1; id=changed;"')]
    sts.a.start()
    sts.a.cli("queue", "flush", check=True)
    assert sts.a.wait_log(r"mta-sts fetch-failed domain=b\.test id=changed .*using=cache", timeout=20), \
        sts.a.log()[-3000:]
    assert sts.deferred(r"not allowed by the MTA-STS policy")
    assert not any(b"Subject: c2" in m for m in sts.b.messages(BOB))


@pytest.mark.parametrize("kind", ["redirect", "content-type", "invalid"])
def test_unusable_policy_is_no_policy(sts, kind):
    sts.mx("mx.b.test")
    if kind == "redirect":
        sts.https.policy("enforce", mx=("other.b.test",), status=301,
                         headers={"Location": "https://mta-sts.b.test/elsewhere"})
        reason = "redirect"
    elif kind == "content-type":
        sts.https.policy("enforce", mx=("other.b.test",), ctype="text/html")
        reason = "not text/plain"
    else:
        sts.https.reply = (200, "text/plain", "version: STSv1\nmode: enforce\nmx: other.b.test\n", {})
        reason = "invalid policy file"
    sts.start()
    sts.submit("u1")
    # Delivered as without MTA-STS: the enforce policy never took effect.
    assert sts.delivered("u1"), sts.queue() + sts.a.log()[-3000:]
    assert re.search(rf"mta-sts fetch-failed domain=b\.test id=\S+ error=.*{reason}", sts.a.log()), \
        sts.a.log()[-3000:]


def test_mta_sts_switched_off(sts):
    sts.mx("mx.b.test")
    sts.https.policy("enforce", mx=("other.b.test",))
    sts.a.set("delivery", "mta_sts", "false")
    sts.start()
    sts.submit("off")
    assert sts.delivered("off"), sts.queue() + sts.a.log()[-3000:]
    assert sts.https.requests == []


@pytest.mark.skipif(not tools_available(), reason="ldns-keygen/ldns-signzone (ldnsutils) not installed")
def test_dane_takes_precedence_over_enforce(dns):
    """RFC 8461 2: an MX with DNSSEC-secure usable TLSA records is
    delivered to under DANE even when an enforce policy does not list it."""
    p = DanePair(dns)
    ca_dir = os.path.join(p.a.dir, "ca")
    os.makedirs(ca_dir)
    ca = make_ca(ca_dir)
    run_as_owner(ca)
    p.a.set("delivery", "ca_file", f'"{ca}"')
    https = PolicyServer(*make_cert(ca_dir, f"mta-sts.{DANE_ZONE}"))
    try:
        https.policy("enforce", mx=(f"other.{DANE_ZONE}",))
        p.zone = SignedZone(DANE_ZONE, ["@ IN MX 10 mx", "mx IN A 127.0.0.3",
                                        f"_25._tcp.mx IN TLSA 3 1 1 {spki_sha256(p.b.cert)}",
                                        '_mta-sts IN TXT "v=STSv1; id=dane1;"', f"mta-sts IN A {STS_ADDR}"],
                            os.path.join(p.a.dir, "zone"))
        dns.add_signed_zone(p.zone)
        ta = os.path.join(p.a.dir, "trust-anchor.ds")
        with open(ta, "w") as f:
            f.write(p.zone.trust_anchor)
        run_as_owner(ta)
        p.a.set("dns", "trust_anchor", f'"{ta}"')
        p.start()
        p.submit(DANE_BOB)
        assert wait_for(lambda: p.b.messages(DANE_BOB)), p.queue() + p.a.log()[-3000:]
        assert p.a.wait_log(rf"delivery id=\S+ to={re.escape(DANE_BOB)} status=sent detail=.*verified"), \
            p.a.log()[-3000:]
        # The policy was fetched and is in force; DANE decided for this host.
        assert re.search(rf"mta-sts policy domain={re.escape(DANE_ZONE)} id=dane1 mode=enforce", p.a.log())
    finally:
        https.stop()
        p.close()
