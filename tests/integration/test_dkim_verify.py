"""DKIM verification (RFC 6376, RFC 8463, RFC 8301) through `mailfort auth dkim`.

Messages are signed by dkimpy (python3-dkim) with keys published in the
test's fake DNS; the Mail::DKIM corpus (tests/data/mail-dkim) is checked
against the outcomes Mail::DKIM's own t/verifier.t expects.
"""
import base64
import json
import os
import re
import subprocess
import time
from unittest import mock

import dkim
import nacl.signing
import pytest

MESSAGE = (
    b"From: Alice <alice@sender.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: dinner\r\n"
    b"Date: Thu, 03 Dec 2026 20:00:00 +0000\r\n"
    b"Message-ID: <1@sender.test>\r\n"
    b"\r\n"
    b"Hello Bob.\r\n"
    b"\r\n"
    b"See you at  eight.\r\n"
)
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


def txt(text):
    """A TXT record's zone text: character-strings of at most 255 octets."""
    return " ".join('"%s"' % text[i:i + 255] for i in range(0, len(text), 255)) or '""'


def rsa_key(bits):
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem, capture_output=True,
                         check=True).stdout
    return pem, base64.b64encode(der).decode()


_KEYS = {}


def keys():
    """One set of keys per test run (RSA generation is slow)."""
    if not _KEYS:
        _KEYS["rsa"] = rsa_key(2048)
        _KEYS["rsa512"] = rsa_key(512)
        sk = nacl.signing.SigningKey.generate()
        _KEYS["ed25519"] = (base64.b64encode(bytes(sk)), base64.b64encode(bytes(sk.verify_key)).decode())
    return _KEYS


def publish(dns, selector, domain, record):
    dns.add(f"{selector}._domainkey.{domain}", "TXT", txt(record))


def sign(message, selector, key, alg=b"rsa-sha256", canon=(b"relaxed", b"relaxed"), length=False,
         domain=b"sender.test", extra_fields=None, now=None):
    """The DKIM-Signature header dkimpy makes, optionally with extra tags (x=) and a fixed t=."""
    orig = dkim.DKIM.gen_header

    def gen_header(self, fields, *args, **kwargs):
        if extra_fields:
            fields[-2:-2] = extra_fields
        return orig(self, fields, *args, **kwargs)

    with mock.patch.object(dkim.DKIM, "gen_header", gen_header), \
            mock.patch("time.time", return_value=now if now is not None else time.time()):
        return dkim.sign(message, selector, domain, key, canonicalize=canon, signature_algorithm=alg,
                         include_headers=HEADERS, length=length)


def verify(instance, message):
    r = instance.cli("auth", "dkim", "-", input=message.decode())
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().split("\n")


@pytest.fixture
def signer(instance, dns):
    k = keys()
    publish(dns, "rsa", "sender.test", "v=DKIM1; k=rsa; p=" + k["rsa"][1])
    publish(dns, "ed", "sender.test", "v=DKIM1; k=ed25519; p=" + k["ed25519"][1])
    return k


def test_unsigned_is_none(instance):
    assert verify(instance, MESSAGE) == ["none"]


@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple"),
                                   (b"simple", b"relaxed")])
def test_rsa_sha256_passes_in_every_canonicalization(instance, signer, canon):
    sig = sign(MESSAGE, b"rsa", signer["rsa"][0], canon=canon)
    assert verify(instance, sig + MESSAGE) == ["pass d=sender.test s=rsa a=rsa-sha256"]


@pytest.mark.parametrize("canon", [(b"relaxed", b"relaxed"), (b"simple", b"simple")])
def test_ed25519_passes(instance, signer, canon):
    sig = sign(MESSAGE, b"ed", signer["ed25519"][0], alg=b"ed25519-sha256", canon=canon)
    assert verify(instance, sig + MESSAGE) == ["pass d=sender.test s=ed a=ed25519-sha256"]


def test_relaxed_survives_whitespace_changes_simple_does_not(instance, signer):
    relaxed = sign(MESSAGE, b"rsa", signer["rsa"][0], canon=(b"relaxed", b"relaxed"))
    simple = sign(MESSAGE, b"ed", signer["ed25519"][0], alg=b"ed25519-sha256", canon=(b"simple", b"simple"))
    header = MESSAGE.replace(b"Subject: dinner", b"Subject:  dinner ")
    body = MESSAGE.replace(b"at  eight", b"at eight")
    assert verify(instance, relaxed + simple + header) == [
        "pass d=sender.test s=rsa a=rsa-sha256",
        "fail d=sender.test s=ed a=ed25519-sha256 (signature did not verify)"]
    assert verify(instance, relaxed + simple + body) == [
        "pass d=sender.test s=rsa a=rsa-sha256",
        "fail d=sender.test s=ed a=ed25519-sha256 (body hash mismatch)"]


def test_altered_body_and_header_fail(instance, signer):
    sig = sign(MESSAGE, b"rsa", signer["rsa"][0])
    body = verify(instance, sig + MESSAGE.replace(b"eight", b"nine"))
    assert body == ["fail d=sender.test s=rsa a=rsa-sha256 (body hash mismatch)"]
    header = verify(instance, sig + MESSAGE.replace(b"Subject: dinner", b"Subject: lunch"))
    assert header == ["fail d=sender.test s=rsa a=rsa-sha256 (signature did not verify)"]
    ed = sign(MESSAGE, b"ed", signer["ed25519"][0], alg=b"ed25519-sha256")
    assert verify(instance, ed + MESSAGE.replace(b"To: Bob", b"To: Eve"))[0].startswith("fail d=sender.test s=ed")


def test_length_limit_with_appended_text_passes_and_is_noted(instance, signer):
    sig = sign(MESSAGE, b"rsa", signer["rsa"][0], length=True)
    assert b"l=" in sig
    out = verify(instance, sig + MESSAGE + b"Appended by a list: buy now!\r\n")
    assert out == ["pass d=sender.test s=rsa a=rsa-sha256 (l= used)"]
    # A body shorter than l= fails.
    short = verify(instance, sig + MESSAGE.replace(b"See you at  eight.\r\n", b""))
    assert short[0].startswith("fail d=sender.test") and "l= longer than the body" in short[0]


def test_expired_signature(instance, signer):
    now = int(time.time())
    old = sign(MESSAGE, b"rsa", signer["rsa"][0], now=now - 7200,
               extra_fields=[(b"x", str(now - 3600).encode())])
    assert verify(instance, old + MESSAGE) == ["permerror d=sender.test s=rsa a=rsa-sha256 (signature expired)"]
    fresh = sign(MESSAGE, b"rsa", signer["rsa"][0], extra_fields=[(b"x", str(now + 3600).encode())])
    assert verify(instance, fresh + MESSAGE) == ["pass d=sender.test s=rsa a=rsa-sha256"]


def test_testing_key_is_noted(instance, dns, signer):
    publish(dns, "trial", "sender.test", "v=DKIM1; k=ed25519; t=y; p=" + signer["ed25519"][1])
    sig = sign(MESSAGE, b"trial", signer["ed25519"][0], alg=b"ed25519-sha256")
    assert verify(instance, sig + MESSAGE) == ["pass d=sender.test s=trial a=ed25519-sha256 (testing)"]


def test_revoked_key(instance, dns, signer):
    publish(dns, "gone", "sender.test", "v=DKIM1; k=rsa; p=")
    sig = sign(MESSAGE, b"gone", signer["rsa"][0])
    assert verify(instance, sig + MESSAGE) == ["permerror d=sender.test s=gone a=rsa-sha256 (key revoked)"]


def test_missing_key_is_permerror(instance, signer):
    sig = sign(MESSAGE, b"nokey", signer["rsa"][0])
    assert verify(instance, sig + MESSAGE) == ["permerror d=sender.test s=nokey a=rsa-sha256 (no key)"]


def test_dns_servfail_is_temperror(instance, dns, signer):
    dns.servfail("broken._domainkey.sender.test")
    sig = sign(MESSAGE, b"broken", signer["rsa"][0])
    out = verify(instance, sig + MESSAGE)
    assert len(out) == 1 and out[0].startswith("temperror d=sender.test s=broken a=rsa-sha256 (key lookup failed")


def test_several_signatures_each_reported(instance, dns, signer):
    first = sign(MESSAGE, b"rsa", signer["rsa"][0])
    sigs = (first +
            sign(MESSAGE, b"ed", signer["ed25519"][0], alg=b"ed25519-sha256", canon=(b"simple", b"simple")) +
            sign(MESSAGE, b"nokey", signer["rsa"][0]))
    out = verify(instance, sigs + MESSAGE)
    assert out == ["pass d=sender.test s=rsa a=rsa-sha256", "pass d=sender.test s=ed a=ed25519-sha256",
                   "permerror d=sender.test s=nokey a=rsa-sha256 (no key)"]
    r = instance.cli("auth", "dkim", "--json", "-", input=(sigs + MESSAGE).decode())
    results = json.loads(r.stdout)["dkim"]
    assert [x["result"] for x in results] == ["pass", "pass", "permerror"]
    b_value = re.sub(rb"\s", b"", re.search(rb";\s*b=([A-Za-z0-9+/=\s]+)$", first).group(1)).decode()
    assert results[0]["identity"] == "@sender.test"
    assert results[0]["b"] == b_value[:8]
    assert results[2]["reason"] == "no key"


def test_rsa_sha1_fails(instance, signer):
    sig = sign(MESSAGE, b"rsa", signer["rsa"][0], alg=b"rsa-sha1")
    out = verify(instance, sig + MESSAGE)
    assert out == ["fail d=sender.test s=rsa a=rsa-sha1 (rsa-sha1 is not accepted (RFC 8301))"]


def test_rsa_key_under_1024_bits_fails(instance, dns, signer):
    publish(dns, "weak", "sender.test", "v=DKIM1; k=rsa; p=" + signer["rsa512"][1])
    sig = sign(MESSAGE, b"weak", signer["rsa512"][0])
    out = verify(instance, sig + MESSAGE)
    assert out == ["fail d=sender.test s=weak a=rsa-sha256 (RSA key of 512 bits, under 1024 (RFC 8301))"]


def test_message_from_a_file_with_lf_line_ends(instance, signer, tmp_path):
    sig = sign(MESSAGE, b"rsa", signer["rsa"][0], canon=(b"simple", b"simple"))
    path = tmp_path / "msg.eml"
    path.write_bytes((sig + MESSAGE).replace(b"\r\n", b"\n"))
    r = instance.cli("auth", "dkim", str(path))
    assert r.stdout.strip() == "pass d=sender.test s=rsa a=rsa-sha256"
