"""ARC (RFC 8617) through `mailfort auth arc` and `mailfort auth arc-seal`.

- ValiMail's public ARC test suite (tests/data/arc, see its README): every
  validation case's chain result must equal the suite's, every signing
  case's ARC set must equal the suite's expected set tag for tag (b=
  included: rsa-sha256 signatures are deterministic) and verify with
  dkimpy's arc_verify.
- Chains made by dkimpy's arc_sign verified by us (pass, then broken by a
  change after sealing), and our seals on top of dkimpy's verified by dkimpy.

The keys are served by the fake DNS on loopback; nothing leaves the host.
"""
import base64
import json
import os
import subprocess

import dkim
import nacl.signing
import pytest
import yaml
from dnslib import DNSRecord

from conftest import BIN, Instance
from dnsserver import FakeDNS

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "arc")


def suite(name):
    """[(case id, case, scenario)] of one suite file (later duplicate keys win, as in YAML)."""
    out = []
    with open(os.path.join(DATA, name), "rb") as f:
        for scenario in yaml.safe_load_all(f):
            for tid, case in scenario["tests"].items():
                out.append((tid, case, scenario))
    return out


VALIDATION = suite("arc-draft-validation-tests.yml")
SIGNING = suite("arc-draft-sign-tests.yml")


@pytest.fixture(scope="module")
def env():
    dns = FakeDNS().start()
    inst = Instance(dns)
    yield inst, dns
    inst.cleanup()
    dns.stop()


def serve(dns, records):
    """Replaces the fake DNS's records with the case's TXT records (split in 255-octet strings)."""
    with dns.lock:
        dns.records.clear()
    for name, text in (records or {}).items():
        text = "".join(text.split("\n")).strip()
        chunks = [text[i:i + 255] for i in range(0, len(text), 255)]
        dns.add(name, "TXT", " ".join(f'"{c}"' for c in chunks))


def dnsfunc(dns):
    host, port = dns.address.split(":")

    def lookup(name, timeout=5):
        q = DNSRecord.question(name.decode().rstrip("."), "TXT")
        reply = DNSRecord.parse(q.send(host, int(port), timeout=timeout))
        for rr in reply.rr:
            return b"".join(rr.rdata.data)
        return None

    return lookup


def auth_arc(inst, message):
    r = subprocess.run([BIN, "-c", inst.config, "auth", "arc", "-"], input=message, capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def arc_word(output):
    assert output.startswith("arc="), output
    return output.split()[0][4:]


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


@pytest.mark.parametrize("tid,case,scenario", VALIDATION, ids=[t for t, _, _ in VALIDATION])
def test_validation_case(env, tid, case, scenario):
    inst, dns = env
    serve(dns, scenario.get("txt-records"))
    expected = str(case["cv"]).strip().lower()
    # dkimpy, the suite's reference, reports a chain a seal already failed
    # as "terminated" (empty); RFC 8617 5.2 step 2 calls it fail.
    expected = expected or "fail"
    out = auth_arc(inst, case["message"].encode())
    assert arc_word(out) == expected, f"{tid}: {case['description']}: {out}"


def test_validation_suite_size():
    assert len(VALIDATION) == 171


def ar_results(message, srv_id):
    """The resinfo of the message's Authentication-Results for srv_id, merged the way the
    suite's reference signer (dkimpy arc_sign) merges them."""
    fields, current = [], None
    for line in message.split("\n"):
        if line == "":
            break
        if line[0] in " \t" and current is not None:
            current[1] += "\n" + line
        else:
            name, _, value = line.partition(":")
            current = [name, value]
            fields.append(current)
    results = []
    for name, value in fields:
        if name.strip().lower() != "authentication-results":
            continue
        value = value.strip()
        ident, _, rest = value.partition(";")
        if ident.strip() != srv_id:
            continue
        results += [" ".join(p.split()) for p in rest.split(";") if p.strip()]
    return "; ".join(results)


def tag_set(value):
    """A header value as the suite compares it: whitespace removed, split at ';'."""
    return set("".join(value.split()).split(";")) - {""}


def split_fields(text):
    out = {}
    for field in text.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n"):
        if field:
            name, _, value = field.partition(":")
            out[name.lower()] = value
    return out


@pytest.mark.parametrize("tid,case,scenario", SIGNING, ids=[t for t, _, _ in SIGNING])
def test_signing_case(env, tid, case, scenario):
    inst, dns = env
    serve(dns, scenario.get("txt-records"))
    key = os.path.join(inst.dir, "suite-key.pem")
    with open(key, "w") as f:
        f.write(scenario["privatekey"])
    message = case["message"]
    r = subprocess.run([BIN, "-c", inst.config, "auth", "arc-seal", "--key", key, "--domain", scenario["domain"],
                        "--selector", scenario["sel"], "--authserv-id", case["srv-id"],
                        "--results", ar_results(message, case["srv-id"]), "--time", str(case["t"]),
                        "--headers", case["sig-headers"], "-"],
                       input=message.encode(), capture_output=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    if not case["AS"].strip():
        assert out == "", f"{tid}: the suite expects no ARC set"
        return
    fields = split_fields(out)
    assert list(fields) == ["arc-seal", "arc-message-signature", "arc-authentication-results"], out
    assert tag_set(fields["arc-authentication-results"]) == tag_set(case["AAR"]), out
    assert tag_set(fields["arc-message-signature"]) == tag_set(case["AMS"]), out
    assert tag_set(fields["arc-seal"]) == tag_set(case["AS"]), out
    sealed = out.encode() + crlf(message)
    if "cv=pass" in fields["arc-seal"] or "cv=none" in fields["arc-seal"]:
        cv, _, reason = dkim.arc_verify(sealed, dnsfunc=dnsfunc(dns))
        assert cv == b"pass", reason
        assert arc_word(auth_arc(inst, sealed)) == "pass"
    else:
        assert arc_word(auth_arc(inst, sealed)) == "fail"


# --- chains made by dkimpy, and ours on top of them ------------------------

MESSAGE = ("Authentication-Results: lists.example.org; arc=none; spf=pass smtp.mailfrom=jqd@d1.example\n"
           "From: John Q Doe <jqd@d1.example>\n"
           "To: arc@example.org\n"
           "Subject: forwarded\n"
           "Date: Thu, 14 Jan 2015 15:00:01 -0800\n"
           "Message-ID: <arc-1@d1.example>\n"
           "\n"
           "Hey gang,\n"
           "This is a test message.\n")


def ed25519_key():
    """(PEM for mailfort, p= for DNS)."""
    signing = nacl.signing.SigningKey.generate()
    der = bytes.fromhex("302e020100300506032b657004220420") + bytes(signing)
    pem = "-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n"
    return pem, base64.b64encode(bytes(signing.verify_key)).decode()


def rsa_key():
    """(PEM, p= for DNS) of a new 2048-bit RSA key."""
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem, capture_output=True,
                         check=True).stdout
    return pem.decode(), base64.b64encode(der).decode()


def publish_key(dns, name, p, k):
    text = f"v=DKIM1; k={k}; p={p}"
    chunks = [text[i:i + 255] for i in range(0, len(text), 255)]
    dns.add(name, "TXT", " ".join(f'"{c}"' for c in chunks))


@pytest.fixture(scope="module")
def key_material():
    return {"rsa": rsa_key(), "ed": ed25519_key()}


@pytest.fixture
def keys(env, key_material):
    """example.org/dummy: the suite's 1024-bit RSA key (dkimpy's first hop); forward.example:
    a 2048-bit RSA key (selector rsa) and an ed25519 key (selector ed). dkimpy's ARC knows only
    rsa-sha256, so the ed25519 key is checked by mailfort alone."""
    inst, dns = env
    serve(dns, SIGNING[0][2]["txt-records"])
    out = {"suite": SIGNING[0][2]["privatekey"].encode()}
    for kind, (pem, pub) in key_material.items():
        publish_key(dns, f"{kind}._domainkey.forward.example", pub, "rsa" if kind == "rsa" else "ed25519")
        path = os.path.join(inst.dir, f"{kind}.pem")
        with open(path, "w") as f:
            f.write(pem)
        out[kind] = path
        out[kind + "_pem"] = pem.encode()
    return out


def dkimpy_seal(message, keys, srv_id=b"lists.example.org", forwarder=False):
    if forwarder:
        sig = dkim.arc_sign(message, b"rsa", b"forward.example", keys["rsa_pem"], srv_id,
                            include_headers=[b"from", b"to", b"subject"])
    else:
        sig = dkim.arc_sign(message, b"dummy", b"example.org", keys["suite"], srv_id,
                            include_headers=[b"from", b"to", b"subject", b"date"])
    assert sig, "dkimpy added no ARC set"
    return b"".join(sig) + message


def test_dkimpy_chain_pass_and_broken(env, keys):
    inst, dns = env
    one = dkimpy_seal(crlf(MESSAGE), keys)
    out = auth_arc(inst, one)
    assert out.startswith("arc=pass i=1 d=example.org"), out
    # A second hop by another forwarder.
    two = dkimpy_seal(b"Authentication-Results: mx.forward.example; arc=pass\r\n" + one, keys,
                      srv_id=b"mx.forward.example", forwarder=True)
    out = auth_arc(inst, two)
    assert out.startswith("arc=pass i=2 d=forward.example"), out
    # The body changed after the last seal: the newest AMS no longer verifies.
    assert arc_word(auth_arc(inst, two.replace(b"Hey gang", b"Hey folks"))) == "fail"
    # A signed header changed.
    out = auth_arc(inst, two.replace(b"Subject: forwarded", b"Subject: changed"))
    assert arc_word(out) == "fail", out
    # An older set was tampered with: its seal fails although the newest AMS still verifies.
    tampered = two.replace(b"ARC-Authentication-Results: i=1; lists.example.org",
                           b"ARC-Authentication-Results: i=1; lists.example.org; dmarc=pass")
    out = auth_arc(inst, tampered)
    assert arc_word(out) == "fail" and "ARC-Seal i=" in out, out
    # The key disappeared from DNS.
    with dns.lock:
        del dns.records["rsa._domainkey.forward.example"]
    assert arc_word(auth_arc(inst, two)) == "fail"


def test_json_output(env, keys):
    inst, dns = env
    one = dkimpy_seal(crlf(MESSAGE), keys)
    r = subprocess.run([BIN, "-c", inst.config, "auth", "arc", "--json", "-"], input=one, capture_output=True)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["arc"] == "pass" and j["instances"] == 1 and j["newest_domain"] == "example.org"
    assert j["oldest_results"] == "arc=none; spf=pass smtp.mailfrom=jqd@d1.example"


def our_seal(inst, message, keys, results, kind="rsa"):
    r = subprocess.run([BIN, "-c", inst.config, "auth", "arc-seal", "--key", keys[kind], "--domain", "forward.example",
                        "--selector", kind, "--authserv-id", "mx.forward.example", "--results", results, "-"],
                       input=message, capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_our_seal_on_dkimpy_chain(env, keys):
    inst, dns = env
    one = dkimpy_seal(crlf(MESSAGE), keys)
    set2 = our_seal(inst, one, keys, "arc=pass; spf=pass smtp.mailfrom=list@example.org")
    assert b"cv=pass" in set2 and b"i=2" in set2
    # Folded to 78 columns but for the AMS b=, which is never broken.
    assert all(len(line) <= 78 or line.startswith(b"\tb=") for line in set2.split(b"\r\n")), set2
    two = set2 + one
    cv, _, reason = dkim.arc_verify(two, dnsfunc=dnsfunc(dns))
    assert cv == b"pass", reason
    assert auth_arc(inst, two).startswith("arc=pass i=2 d=forward.example")
    # And dkimpy can seal on top of ours.
    three = dkimpy_seal(b"Authentication-Results: third.example; arc=pass\r\n" + two, keys, srv_id=b"third.example")
    cv, _, reason = dkim.arc_verify(three, dnsfunc=dnsfunc(dns))
    assert cv == b"pass", reason
    assert auth_arc(inst, three).startswith("arc=pass i=3")


def test_our_seal_on_broken_chain_says_fail(env, keys):
    inst, dns = env
    one = dkimpy_seal(crlf(MESSAGE), keys).replace(b"Hey gang", b"Hey folks")
    set2 = our_seal(inst, one, keys, "arc=fail")
    assert b"cv=fail" in set2 and b"i=2" in set2
    two = set2 + one
    out = auth_arc(inst, two)
    assert arc_word(out) == "fail" and "cv=fail" in out, out
    # Nobody adds to a chain that ended in cv=fail (RFC 8617 5.1.2).
    assert our_seal(inst, two, keys, "arc=fail") == b""


def test_first_seal_default_headers(env, keys):
    inst, dns = env
    set1 = our_seal(inst, crlf(MESSAGE), keys, "spf=pass smtp.mailfrom=jqd@d1.example")
    assert b"cv=none" in set1 and b"i=1" in set1 and b"a=rsa-sha256" in set1
    ams = split_fields(set1.decode())["arc-message-signature"]
    assert "h=from:from:to:subject:date:message-id;" in "".join(ams.split()), ams
    sealed = set1 + crlf(MESSAGE)
    cv, _, reason = dkim.arc_verify(sealed, dnsfunc=dnsfunc(dns))
    assert cv == b"pass", reason
    assert auth_arc(inst, sealed).startswith("arc=pass i=1 d=forward.example")
    # A second From added after sealing breaks it (From is over-signed).
    assert arc_word(auth_arc(inst, set1 + b"From: evil@attacker.example\r\n" + crlf(MESSAGE))) == "fail"


def test_ed25519_seal(env, keys):
    inst, dns = env
    set1 = our_seal(inst, crlf(MESSAGE), keys, "spf=pass smtp.mailfrom=jqd@d1.example", kind="ed")
    assert b"a=ed25519-sha256" in set1
    sealed = set1 + crlf(MESSAGE)
    assert auth_arc(inst, sealed).startswith("arc=pass i=1 d=forward.example")
    set2 = our_seal(inst, sealed, keys, "arc=pass", kind="ed")
    assert auth_arc(inst, set2 + sealed).startswith("arc=pass i=2")
    assert arc_word(auth_arc(inst, (set2 + sealed).replace(b"Hey gang", b"Hey folks"))) == "fail"
