"""DNSSEC and DANE for outbound delivery (RFC 7672).

The fake DNS serves a zone signed at test time (signedzone.py: ldns-keygen
and ldns-signzone, algorithm 13, NSEC) and A's resolver gets the zone's DS as
its trust anchor ([dns] trust_anchor), so libunbound validates every answer
under it. A relays to B (MX mx.<zone> on 127.0.0.3) as in test_outbound.py.

B's certificate is the self-signed one from `mailfort init` for
mail.example.test, so for the MX name mx.dane.test it is a wrong-name
certificate: DANE-EE (3 1 1) ignores names, `verify` must refuse it.
"""
import hashlib
import os
import re
import subprocess

import pytest

from conftest import PASSWORD, run_as_owner, relay_pair, wait_for
from signedzone import SignedZone, tools_available

pytestmark = pytest.mark.skipif(not tools_available(), reason="ldns-keygen/ldns-signzone (ldnsutils) not installed")

ZONE = "dane.test"
ALICE = "alice@example.test"
BOB = f"bob@{ZONE}"
MX = f"mx.{ZONE}"


def spki_sha256(cert):
    """TLSA 3 1 1 data: SHA-256 of the certificate's SubjectPublicKeyInfo (DER)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True,
                         check=True).stdout
    return subprocess.run(["openssl", "dgst", "-sha256", "-r"], input=der, capture_output=True,
                          check=True).stdout.split()[0].decode()


def no_starttls(b):
    text = open(b.config).read()
    text, n = re.subn(r'(name = "mx"\nprotocol = "smtp"\naddress = "[^"]+"\ntls = )"starttls"', r'\1"none"', text)
    assert n == 1
    b._write(text)


class Pair:
    def __init__(self, dns):
        self.dns = dns
        self.a, self.b = relay_pair(dns, b_domains=(ZONE, "b.test"), b_user=BOB, a_user=ALICE)
        self.b.cli("alias", "add", "bob@b.test", BOB, check=True)  # cheaper than another account
        self.zone = None

    def sign(self, tlsa=None, tamper=None):
        """Signs dane.test (MX, A, TLSA 3 1 1 for B's key unless `tlsa` is given) and
        makes its DS A's trust anchor. `tamper` = (name, type, text) changes an
        RRset after signing."""
        tlsa = tlsa or "3 1 1 " + spki_sha256(self.b.cert)
        self.zone = SignedZone(ZONE, ["@ IN MX 10 mx", "mx IN A 127.0.0.3", f"_25._tcp.mx IN TLSA {tlsa}"],
                               os.path.join(self.a.dir, "zone"))
        if tamper:
            self.zone.tamper(*tamper)
        self.dns.add_signed_zone(self.zone)
        ta = os.path.join(self.a.dir, "trust-anchor.ds")
        with open(ta, "w") as f:
            f.write(self.zone.trust_anchor)
        run_as_owner(ta)
        self.a.set("dns", "trust_anchor", f'"{ta}"')

    def submit(self, rcpt, subject="hello"):
        s = self.a.submission_tls()
        s.login(ALICE, PASSWORD)
        s.sendmail(ALICE, [rcpt], f"From: {ALICE}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n")
        s.quit()

    def queue(self):
        return self.a.cli("queue", "list", check=True).stdout

    def start(self):
        self.a.start()
        self.b.start()

    def close(self):
        for inst in (self.a, self.b):
            if inst.proc:
                inst.kill()  # nothing left to check: no need to wait for a graceful stop
            inst.cleanup()


@pytest.fixture
def pair(dns):
    p = Pair(dns)
    yield p
    p.close()


def deferred(p, rcpt, pattern):
    """Waits until `rcpt` is deferred in A's queue with `pattern` in its last error."""
    return wait_for(lambda: re.search(rf"{re.escape(rcpt)} \S+ [1-9]\d* .*{pattern}", p.queue()))


def assert_nothing_received(p, rcpt):
    assert not p.b.messages(rcpt)
    # B never saw a transaction from A: no MAIL FROM reached it in plaintext or otherwise.
    log = p.b.log()
    assert ALICE not in log and "smtp accepted" not in log, log[-2000:]


def test_resolver_validates_signed_zone(pair):
    p = pair
    p.sign()
    for name, rtype in ((ZONE, "MX"), (MX, "A"), (f"_25._tcp.{MX}", "TLSA")):
        r = p.a.cli("resolve", name, rtype)
        assert r.returncode == 0 and "status=ok secure=yes" in r.stdout, (name, rtype, r.stdout, r.stderr)
    # Signed denial of existence: NXDOMAIN and NODATA are secure too.
    r = p.a.cli("resolve", f"nope.{ZONE}", "A")
    assert "status=nxdomain secure=yes" in r.stdout, r.stdout
    r = p.a.cli("resolve", MX, "TXT")
    assert "status=nodata secure=yes" in r.stdout, r.stdout
    # Unsigned zones stay insecure (no trust anchor covers them), not bogus.
    p.dns.add("b.test", "MX", "10 mx.b.test.")
    r = p.a.cli("resolve", "b.test", "MX")
    assert "status=ok secure=no" in r.stdout, r.stdout


def test_matching_tlsa_delivers_verified(pair):
    p = pair
    p.sign()  # default policy is dane
    p.start()
    p.submit(BOB)
    msgs = wait_for(lambda: p.b.messages(BOB))
    assert msgs, p.queue() + p.a.log()[-3000:]
    assert p.a.wait_log(rf"delivery id=\S+ to={re.escape(BOB)} status=sent detail=.*TLSv1\.\d \S+ verified"), \
        p.a.log()[-3000:]
    assert wait_for(lambda: BOB not in p.queue())


def test_wrong_tlsa_defers_never_plaintext(pair):
    p = pair
    p.sign(tlsa="3 1 1 " + "00" * 32)
    p.a.cli("tls-policy", "set", ZONE, "dane", check=True)
    p.start()
    p.submit(BOB)
    assert deferred(p, BOB, "TLS policy dane not met.*DANE verification failed"), p.queue()
    assert p.b.wait_log(r"smtp tls session=")  # A did connect and handshake, then quit
    assert_nothing_received(p, BOB)
    assert not re.search(rf"to={re.escape(BOB)} status=sent", p.a.log())


def test_bogus_tlsa_signature_defers(pair):
    p = pair
    # The right TLSA data, but changed after signing: the RRSIG no longer matches.
    p.sign(tamper=(f"_25._tcp.{MX}", "TLSA", "3 1 1 " + spki_sha256(p.b.cert)[::-1]))
    r = p.a.cli("resolve", f"_25._tcp.{MX}", "TLSA")
    assert "status=bogus" in r.stdout, r.stdout
    p.start()
    p.submit(BOB)
    assert deferred(p, BOB, r"TLSA lookup for mx\.dane\.test failed \(bogus"), p.queue()
    assert_nothing_received(p, BOB)


def test_bogus_mx_signature_defers(pair):
    p = pair
    p.sign(tamper=(ZONE, "MX", "10 mx.b.test."))  # would redirect to an unsigned host
    p.dns.add("mx.b.test", "A", "127.0.0.3")
    p.start()
    p.submit(BOB)
    assert deferred(p, BOB, r"MX lookup for dane\.test failed \(bogus"), p.queue()
    assert_nothing_received(p, BOB)


def test_dane_only_with_unsigned_zone_defers(pair):
    p = pair
    p.sign()  # a trust anchor exists, but b.test is outside it
    p.dns.add("b.test", "MX", "10 mx.b.test.")
    p.dns.add("mx.b.test", "A", "127.0.0.3")
    p.a.cli("tls-policy", "set", "b.test", "dane-only", check=True)
    p.start()
    p.submit("bob@b.test")
    assert deferred(p, "bob@b.test", r"dane-only: MX lookup for b\.test is not DNSSEC-secure"), p.queue()
    assert_nothing_received(p, BOB)


def test_dane_with_unsigned_zone_is_opportunistic(pair):
    p = pair
    p.sign()
    p.dns.add("b.test", "MX", "10 mx.b.test.")
    p.dns.add("mx.b.test", "A", "127.0.0.3")
    p.start()
    p.submit("bob@b.test")  # default policy dane: no secure TLSA, so like "may"
    assert wait_for(lambda: p.b.messages(BOB)), p.queue()
    assert p.a.wait_log(r"to=bob@b\.test status=sent detail=.*unverified"), p.a.log()[-3000:]


def test_secure_tlsa_without_starttls_defers(pair):
    p = pair
    p.sign()
    no_starttls(p.b)
    p.start()
    p.submit(BOB)
    assert deferred(p, BOB, "TLS required by policy dane but .* does not offer STARTTLS"), p.queue()
    assert_nothing_received(p, BOB)


def test_verify_wrong_name_defers_may_delivers(pair):
    p = pair
    p.sign()
    p.a.set("delivery", "ca_file", f'"{p.b.cert}"')  # B's self-signed cert (mail.example.test) as the CA
    p.a.cli("tls-policy", "set", ZONE, "verify", check=True)  # matches the MX name mx.dane.test
    p.start()
    p.submit(BOB, subject="v")
    assert deferred(p, BOB, "TLS policy verify not met.*certificate verification failed"), p.queue()
    assert_nothing_received(p, BOB)
    p.a.cli("tls-policy", "set", ZONE, "may", check=True)
    p.a.cli("queue", "flush", check=True)
    assert wait_for(lambda: p.b.messages(BOB)), p.queue()
    assert p.a.wait_log(rf"to={re.escape(BOB)} status=sent detail=.*TLSv1\.\d \S+ unverified"), p.a.log()[-3000:]


# ---- every TLS policy against three peers ----
#
# One key for B, two certificates for it: "good" names the MX host
# mx.dane.test, "wrongname" names wrong.example.net. Both are in A's CA file
# and the TLSA 3 1 1 (and the fingerprint, of the key) match both, so only the
# name differs. "plain" offers no STARTTLS.

POLICIES = {  # policy -> (params, {peer: expected outcome})
    "none": ("", {"good": "plain", "plain": "plain", "wrongname": "plain"}),
    "may": ("", {"good": "unverified", "plain": "plain", "wrongname": "unverified"}),
    "encrypt": ("", {"good": "unverified", "plain": "deferred", "wrongname": "unverified"}),
    "dane": ("", {"good": "verified", "plain": "deferred", "wrongname": "verified"}),
    "dane-only": ("", {"good": "verified", "plain": "deferred", "wrongname": "verified"}),
    "fingerprint": ("match={spki}", {"good": "verified", "plain": "deferred", "wrongname": "verified"}),
    "verify": ("", {"good": "verified", "plain": "deferred", "wrongname": "deferred"}),
    "secure": ("match=.dane.test", {"good": "verified", "plain": "deferred", "wrongname": "deferred"}),
}


def self_signed(key, name, out):
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", f"/CN={name}", "-days", "30",
                    "-addext", f"subjectAltName=DNS:{name}", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-out", out], capture_output=True, check=True)


def outcome(line):
    if "status=sent" not in line:
        return "deferred"
    if " with TLS" not in line:
        return "plain"
    return "verified" if " verified:" in line else "unverified"


def test_policy_matrix(pair):
    p = pair
    b = p.b
    certs = {}
    for peer, name in (("good", MX), ("wrongname", "wrong.example.net")):
        certs[peer] = os.path.join(b.dir, f"{peer}.pem")
        self_signed(b.key, name, certs[peer])
    ca = os.path.join(p.a.dir, "peers-ca.pem")
    with open(ca, "w") as f:
        f.write(open(certs["good"]).read() + open(certs["wrongname"]).read())
    run_as_owner(ca)
    p.a.set("delivery", "ca_file", f'"{ca}"')
    spki = spki_sha256(certs["good"])
    domains = {pol: f"{pol}.{ZONE}" for pol in POLICIES}
    p.zone = None
    zone = SignedZone(ZONE, ["@ IN MX 10 mx", "mx IN A 127.0.0.3", f"_25._tcp.mx IN TLSA 3 1 1 {spki}"]
                      + [f"{pol} IN MX 10 mx" for pol in POLICIES], os.path.join(p.a.dir, "zone"))
    p.dns.add_signed_zone(zone)
    ta = os.path.join(p.a.dir, "trust-anchor.ds")
    with open(ta, "w") as f:
        f.write(zone.trust_anchor)
    run_as_owner(ta)
    p.a.set("dns", "trust_anchor", f'"{ta}"')
    rcpts = [f"bob@{d}" for d in domains.values()]
    for pol, (params, _) in POLICIES.items():
        b.cli("domain", "add", domains[pol], check=True)
        b.cli("alias", "add", f"bob@{domains[pol]}", BOB, check=True)
        args = [params.format(spki=spki)] if params else []
        p.a.cli("tls-policy", "set", domains[pol], pol, *args, check=True)
    p.a.start()
    original = open(b.config).read()
    failures = []
    for peer in ("good", "plain", "wrongname"):
        b._write(original)
        if peer == "plain":
            no_starttls(b)
        else:
            with open(b.cert, "w") as f:
                f.write(open(certs[peer]).read())
            run_as_owner(b.cert)
        b.start()
        start = len(p.a.log())
        subject = f"matrix-{peer}"
        s = p.a.submission_tls()
        s.login(ALICE, PASSWORD)
        s.sendmail(ALICE, rcpts, f"From: {ALICE}\r\nTo: bob\r\nSubject: {subject}\r\n\r\nbody\r\n")
        s.quit()

        def lines():
            found = {}
            for m in re.finditer(r"delivery id=\S+ to=bob@(\S+) status=\S+ detail=.*", p.a.log()[start:]):
                found[m.group(1)] = m.group(0)
            return found if len(found) == len(domains) else None

        got = wait_for(lines, timeout=20)
        assert got, p.a.log()[start:]
        for pol, (_, want) in POLICIES.items():
            line = got[domains[pol]]
            have = outcome(line)
            if have != want[peer]:
                failures.append(f"{pol} vs {peer}: want {want[peer]}, got {have}: {line}")
        # Every policy domain is an alias of BOB on B: one copy per delivered domain, none for the deferred.
        received = [m for m in b.messages(BOB) if subject.encode() in m]
        expected = sum(want[peer] != "deferred" for _, want in POLICIES.values())
        if len(received) != expected:
            failures.append(f"{peer}: B received {len(received)} copies, want {expected}")
        b.stop()
        for qid in re.findall(r"^(\S+)\s+active", p.queue(), re.M):
            p.a.cli("queue", "delete", qid, check=True)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name,ok", [(MX, True), ("wrong.example.net", False)])
def test_dane_ta_checks_the_name(pair, name, ok):
    """TLSA 2 0 1 (DANE-TA: the issuing CA's certificate): unlike DANE-EE the
    leaf must carry the MX host name (RFC 7672 3.2.2)."""
    p = pair
    b, tmp = p.b, p.b.dir
    ca, ca_key, csr, ext, leaf = (os.path.join(tmp, n) for n in ("ta.pem", "ta.key", "leaf.csr", "leaf.ext",
                                                                 "leaf.pem"))
    run = lambda *a: subprocess.run(a, capture_output=True, check=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        ca_key, "-subj", "/CN=DANE test TA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign", "-out", ca)
    run("openssl", "req", "-new", "-key", b.key, "-subj", f"/CN={name}", "-out", csr)
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", "2", "-days", "30",
        "-extfile", ext, "-out", leaf)
    with open(b.cert, "w") as f:  # the chain B presents: leaf, then the TA
        f.write(open(leaf).read() + open(ca).read())
    run_as_owner(b.cert)
    der = run("openssl", "x509", "-in", ca, "-outform", "DER").stdout
    p.sign(tlsa="2 0 1 " + hashlib.sha256(der).hexdigest())
    p.start()
    p.submit(BOB)
    if ok:
        assert wait_for(lambda: p.b.messages(BOB)), p.queue() + p.a.log()[-3000:]
        assert p.a.wait_log(rf"to={re.escape(BOB)} status=sent detail=.*verified:"), p.a.log()[-3000:]
    else:
        assert deferred(p, BOB, "TLS policy dane not met.*DANE verification failed"), p.queue()
        assert_nothing_received(p, BOB)


def test_bogus_address_of_mx_defers(pair):
    p = pair
    p.sign(tamper=(MX, "A", "127.0.0.4"))  # a forged address for the MX host
    p.start()
    p.submit(BOB)
    assert deferred(p, BOB, r"A lookup for mx\.dane\.test failed \(bogus"), p.queue()
    assert_nothing_received(p, BOB)
