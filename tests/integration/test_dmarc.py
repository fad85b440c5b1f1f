"""Inbound mail authentication end to end (issue 12): SPF, DKIM, DMARC and
the Authentication-Results header on the MX listener, with messages signed
by python3-dkim (dkimpy) and records in the fake DNS; `mailfort auth check`.

Clients connect to the MX from 127.0.0.5 (SPF records name that address);
nothing here is in smtp.trusted_networks.
"""
import base64
import email.utils
import imaplib
import json
import os
import re
import smtplib
import time

import dkim
import nacl.signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import PASSWORD, Raw

ALICE = "alice@example.test"
CLIENT = "127.0.0.5"
AUTHSERV = "mail.example.test"

# ---- keys and records ----

_ED = nacl.signing.SigningKey.generate()
ED_PRIVATE = base64.b64encode(bytes(_ED))
ED_PUBLIC = base64.b64encode(bytes(_ED.verify_key)).decode()
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PRIVATE = _RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
RSA_PUBLIC = base64.b64encode(_RSA.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def txt(dns, name, text):
    """A TXT record, split into 255-byte strings."""
    chunks = [text[i:i + 250] for i in range(0, len(text), 250)] or [""]
    dns.add(name, "TXT", " ".join(f'"{c}"' for c in chunks))


def publish_ed25519(dns, domain, selector="s1", extra=""):
    txt(dns, f"{selector}._domainkey.{domain}", f"v=DKIM1; k=ed25519; {extra}p={ED_PUBLIC}")


def publish_rsa(dns, domain, selector="r1", extra=""):
    txt(dns, f"{selector}._domainkey.{domain}", f"v=DKIM1; k=rsa; {extra}p={RSA_PUBLIC}")


def message(from_header, subject="Hello", body=b"Hello there.\r\n", extra=b""):
    head = (f"From: {from_header}\r\nTo: <{ALICE}>\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{time.time_ns()}@client.example.org>\r\n").encode()
    return head + extra + b"\r\n" + body


def sign(msg, domain, selector="s1", algorithm=b"ed25519-sha256", length=False):
    key = ED_PRIVATE if algorithm == b"ed25519-sha256" else RSA_PRIVATE
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key, signature_algorithm=algorithm,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"], length=length)
    return sig + msg


class _ExpiredSigner(dkim.DKIM):
    """dkimpy has no x= option: this one signs with t= and x= in 2001."""

    def gen_header(self, fields, *args, **kwargs):
        fields = [(k, b"999999000") if k == b"t" else (k, v) for k, v in fields]
        fields.insert(len(fields) - 1, (b"x", b"1000000000"))
        return super().gen_header(fields, *args, **kwargs)


def sign_expired(msg, domain, selector="s1"):
    d = _ExpiredSigner(msg)
    sig = d.sign(selector.encode(), domain.encode(), ED_PRIVATE, signature_algorithm=b"ed25519-sha256",
                 include_headers=[b"from", b"to", b"subject"])
    return sig + msg


def b_prefix(signed):
    """The first 8 characters of the first signature's b= (RFC 6008 header.b)."""
    head = signed.split(b"\r\n\r\n", 1)[0].decode()
    m = re.search(r"\bb=([^;]*)", re.sub(r"\r\n[ \t]", " ", head).split("DKIM-Signature:")[1])
    return re.sub(r"\s", "", m.group(1))[:8]


# ---- sending and reading ----

def send(inst, msg, mail_from, rcpt=ALICE, source=CLIENT):
    """DATA over the MX: (code, text) of the DATA reply, or of the refusal before it."""
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="client.example.org",
                     source_address=(source, 0), timeout=30)
    try:
        s.ehlo()
        code, text = s.mail(mail_from)
        if code != 250:
            return code, text.decode()
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode()
    finally:
        s.close()


def send_bdat(inst, msg, mail_from, rcpt=ALICE, source=CLIENT):
    """The message in two BDAT chunks: the reply to the last one."""
    r = Raw(inst.ports["mx"], source=source)
    try:
        assert r.cmd(b"EHLO client.example.org").startswith(b"250")
        assert r.cmd(b"MAIL FROM:<" + mail_from.encode() + b">").startswith(b"250")
        assert r.cmd(b"RCPT TO:<" + rcpt.encode() + b">").startswith(b"250")
        half = len(msg) // 2
        r.send(b"BDAT %d\r\n" % half + msg[:half])
        assert r.reply().startswith(b"250")
        r.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
        return r.reply().decode()
    finally:
        r.close()


def unfold(header_block):
    return re.sub(r"\r\n[ \t]+", " ", header_block)


def auth_results(raw):
    """The Authentication-Results values of a delivered message, unfolded, in order."""
    head = unfold(raw.split(b"\r\n\r\n", 1)[0].decode())
    return [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("authentication-results:")]


def only_message(inst):
    msgs = inst.messages(ALICE)
    assert len(msgs) == 1, f"{len(msgs)} messages in INBOX"
    return msgs[0]


def imap_count(inst, folder):
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"], ssl_context=inst.server_hostname_context())
    try:
        m.login(ALICE, PASSWORD)
        typ, data = m.select(folder, readonly=True)
        if typ != "OK":
            return None
        return int(data[0])
    finally:
        m.logout()


@pytest.fixture
def mx(instance):
    instance.add_user(ALICE)
    instance.start()
    return instance


# ---- DMARC ----

def test_dmarc_pass_via_dkim_only_and_our_header(mx, dns):
    publish_ed25519(dns, "sender.test")
    txt(dns, "_dmarc.sender.test", "v=DMARC1; p=reject")
    signed = sign(message("Ann <ann@sender.test>"), "sender.test")
    code, text = send(mx, signed, "ann@elsewhere.test")  # no SPF record: spf=none, not aligned
    assert code == 250, text
    ars = auth_results(only_message(mx))
    assert ars == [f"{AUTHSERV}; spf=none smtp.mailfrom=ann@elsewhere.test; dkim=pass header.d=sender.test "
                   f"header.s=s1 header.a=ed25519-sha256 header.b={b_prefix(signed)}; "
                   f"dmarc=pass header.from=sender.test; arc=none"] or \
        ars == [f"{AUTHSERV}; spf=none smtp.mailfrom=ann@elsewhere.test; dkim=pass header.d=sender.test "
                f"header.s=s1 header.a=ed25519-sha256 header.b=\"{b_prefix(signed)}\"; "
                f"dmarc=pass header.from=sender.test; arc=none"], ars
    raw = only_message(mx)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"Received: ")
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if line.startswith((b"Authentication", b"\t")))
    assert mx.wait_log(r"smtp auth session=\d+ ip=127\.0\.0\.5 .*dmarc=pass header_from=\"?sender\.test")


def test_dmarc_pass_via_spf_only_relaxed(mx, dns):
    txt(dns, "bounce.sender.test", "v=spf1 ip4:127.0.0.5 -all")
    txt(dns, "_dmarc.sender.test", "v=DMARC1; p=reject")
    code, text = send(mx, message("ann@sender.test"), "list@bounce.sender.test")
    assert code == 250, text
    ar = auth_results(only_message(mx))[0]
    assert "spf=pass smtp.mailfrom=list@bounce.sender.test" in ar
    assert "dkim=none" in ar
    assert "dmarc=pass header.from=sender.test" in ar


def test_helo_spf_pass_never_aligns(mx, dns):
    # CVE-2019-20790: the HELO identity passes SPF for the From domain, the
    # MAIL FROM identity does not; DMARC must fail.
    txt(dns, "client.example.org", "v=spf1 ip4:127.0.0.5 -all")
    txt(dns, "sender.test", "v=spf1 -all")
    txt(dns, "_dmarc.sender.test", "v=DMARC1; p=reject")
    code, text = send(mx, message("ann@sender.test"), "ann@sender.test")
    assert code == 550 and text.startswith("5.7.1"), (code, text)


def test_reject_refused_after_data_and_bdat_nothing_stored(mx, dns):
    txt(dns, "_dmarc.paypal.test", "v=DMARC1; p=reject; rua=mailto:d@paypal.test")
    txt(dns, "paypal.test", "v=spf1 -all")
    code, text = send(mx, message("PayPal <service@paypal.test>"), "service@paypal.test")
    assert code == 550, text
    assert text.startswith("5.7.1") and "paypal.test" in text
    reply = send_bdat(mx, message("service@paypal.test"), "x@other.test")
    assert reply.startswith("550 5.7.1"), reply
    assert mx.messages(ALICE) == []
    assert imap_count(mx, "INBOX") == 0
    # A signature of another domain does not help.
    publish_ed25519(dns, "evil.test")
    code, _ = send(mx, sign(message("service@paypal.test"), "evil.test"), "x@evil.test")
    assert code == 550
    assert mx.messages(ALICE) == []


def test_quarantine_lands_in_junk(mx, dns):
    txt(dns, "_dmarc.shady.test", "v=DMARC1; p=quarantine")
    code, text = send(mx, message("x@shady.test"), "x@shady.test")
    assert code == 250, text
    assert mx.messages(ALICE) == []
    assert imap_count(mx, "Spam") == 1
    assert imap_count(mx, "INBOX") == 0


def test_organisational_domain_from_psl_and_subdomain_policy(mx, dns):
    # mail.shop.example.co.uk has no record: the organisational domain is
    # example.co.uk (co.uk is a public suffix), whose sp= applies.
    txt(dns, "_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine; np=none")
    dns.add("mail.shop.example.co.uk", "A", "192.0.2.7")
    code, text = send(mx, message("a@mail.shop.example.co.uk"), "a@mail.shop.example.co.uk")
    assert code == 250, text
    assert imap_count(mx, "Spam") == 1
    # The organisational domain itself: p=reject.
    code, text = send(mx, message("a@example.co.uk"), "a@example.co.uk")
    assert code == 550 and text.startswith("5.7.1"), text
    # A subdomain that does not exist (NXDOMAIN for A, AAAA, MX): np=none.
    code, text = send(mx, message("a@ghost.example.co.uk"), "a@ghost.example.co.uk")
    assert code == 250, text
    ar = auth_results(only_message(mx))[0]
    assert "dmarc=fail" in ar and "header.from=ghost.example.co.uk" in ar
    queried = {q for q, _ in dns.queries}
    assert "_dmarc.mail.shop.example.co.uk" in queried and "_dmarc.shop.example.co.uk" not in queried


def test_pct_zero_lowers_reject_to_quarantine(mx, dns):
    txt(dns, "_dmarc.sampled.test", "v=DMARC1; p=reject; pct=0")
    code, text = send(mx, message("a@sampled.test"), "a@sampled.test")
    assert code == 250, text
    assert imap_count(mx, "Spam") == 1
    txt_q = "v=DMARC1; p=quarantine; pct=0"
    txt(dns, "_dmarc.sampled2.test", txt_q)
    code, text = send(mx, message("a@sampled2.test"), "a@sampled2.test")
    assert code == 250, text
    assert len(mx.messages(ALICE)) == 1  # quarantine sampled out: INBOX


def test_several_from_refused(mx, dns):
    # CVE-2019-16378: zero, two From fields, or one with two addresses.
    publish_ed25519(dns, "good.test")
    signed = sign(message("a@good.test"), "good.test")
    two_fields = signed.replace(b"To: ", b"From: boss@paypal.test\r\nTo: ", 1)
    code, text = send(mx, two_fields, "a@good.test")
    assert code == 550 and text.startswith("5.7.1") and "From" in text, text
    code, text = send(mx, message("a@good.test, boss@paypal.test"), "a@good.test")
    assert code == 550 and text.startswith("5.7.1"), text
    no_from = re.sub(rb"^From: [^\r]*\r\n", b"", message("a@good.test"))
    code, text = send(mx, no_from, "a@good.test")
    assert code == 550 and text.startswith("5.7.1"), text
    assert mx.messages(ALICE) == []


def test_forged_authentication_results_removed(mx, dns):
    forged = (b"Authentication-Results: MAIL.example.test; dmarc=pass header.from=paypal.test\r\n"
              b"Authentication-Results: mail.example.test (\r\n broken\r\n"
              b"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example\r\n")
    code, text = send(mx, message("x@nodmarc.test", extra=forged), "x@nodmarc.test")
    assert code == 250, text
    raw = only_message(mx)
    ars = auth_results(raw)
    ours = [a for a in ars if a.lower().startswith(AUTHSERV)]
    assert len(ours) == 1 and "dmarc=none header.from=nodmarc.test" in ours[0], ars
    assert "other.example; spf=pass smtp.mailfrom=x@other.example" in ars
    assert b"paypal.test" not in raw and b"broken" not in raw


def test_spf_fail_recorded_by_default(mx, dns):
    txt(dns, "spffail.test", "v=spf1 -all")
    code, text = send(mx, message("a@spffail.test"), "a@spffail.test")
    assert code == 250, text
    assert "spf=fail" in auth_results(only_message(mx))[0]


def test_spf_reject_fail(instance, dns):
    instance.set("inbound", "spf_reject_fail", "true")
    instance.add_user(ALICE)
    instance.start()
    txt(dns, "spffail.test", "v=spf1 ip4:192.0.2.1 -all exp=explain.spffail.test")
    txt(dns, "explain.spffail.test", "%{i} is not one of our servers")
    s = smtplib.SMTP("127.0.0.1", instance.ports["mx"], local_hostname="client.example.org",
                     source_address=(CLIENT, 0), timeout=30)
    s.ehlo()
    code, text = s.mail("a@spffail.test")
    s.close()
    assert code == 550 and text.startswith(b"5.7.23"), (code, text)
    assert b"127.0.0.5 is not one of our servers" in text
    txt(dns, "spfok.test", "v=spf1 ip4:127.0.0.5 -all")
    code, text = send(instance, message("a@spfok.test"), "a@spfok.test")
    assert code == 250, text


def test_submission_and_local_domain(mx, dns):
    txt(dns, "_dmarc.example.test", "v=DMARC1; p=reject")
    # Authenticated submission: no checks, no header.
    s = mx.submission_tls()
    s.login(ALICE, PASSWORD)
    s.sendmail(ALICE, [ALICE], message(f"<{ALICE}>"))
    s.quit()
    msgs = mx.messages(ALICE)
    assert len(msgs) == 1 and auth_results(msgs[0]) == []
    # Our own domain arriving unauthenticated on the MX: judged like anyone's.
    code, text = send(mx, message(f"<{ALICE}>"), ALICE)
    assert code == 550 and text.startswith("5.7.1"), text
    assert len(mx.messages(ALICE)) == 1


# ---- DKIM over SMTP, as the delivered Authentication-Results says ----

def test_dkim_results_over_smtp(mx, dns):
    publish_ed25519(dns, "d.test")
    publish_rsa(dns, "d.test")
    publish_ed25519(dns, "d.test", selector="testing", extra="t=y; ")
    txt(dns, "revoked._domainkey.d.test", "v=DKIM1; k=ed25519; p=")
    dns.servfail("broken._domainkey.d.test")

    def dkim_parts(msg):
        before = set(mx.messages(ALICE))  # Maildir names do not sort by arrival
        code, text = send(mx, msg, "x@nospf.test")
        assert code == 250, text
        raw = [m for m in mx.messages(ALICE) if m not in before]
        assert len(raw) == 1
        ar = auth_results(raw[0])[0]
        return [p.strip() for p in ar.split(";")[1:] if p.strip().startswith("dkim=")]

    base = message("a@d.test", body=b"Body text.\r\n")
    ok = dkim_parts(sign(base, "d.test"))
    assert len(ok) == 1 and ok[0].startswith("dkim=pass header.d=d.test header.s=s1 header.a=ed25519-sha256")
    rsa_ok = dkim_parts(sign(base, "d.test", selector="r1", algorithm=b"rsa-sha256"))
    assert rsa_ok[0].startswith("dkim=pass header.d=d.test header.s=r1 header.a=rsa-sha256")

    body_altered = sign(base, "d.test").replace(b"Body text.", b"Body TEXT.")
    assert dkim_parts(body_altered)[0].startswith("dkim=fail reason=\"body hash mismatch\"")

    header_altered = sign(base, "d.test").replace(b"Subject: Hello", b"Subject: Hallo")
    assert dkim_parts(header_altered)[0].startswith("dkim=fail reason=\"signature did not verify\"")

    appended = sign(base, "d.test", length=True) + b"Appended by someone else.\r\n"
    l_parts = dkim_parts(appended)
    assert l_parts[0].startswith("dkim=pass") and "l=" in l_parts[0], l_parts

    expired = dkim_parts(sign_expired(base, "d.test"))
    assert expired[0].startswith("dkim=permerror reason=\"signature expired\""), expired

    testing = dkim_parts(sign(base, "d.test", selector="testing"))
    assert testing[0].startswith("dkim=pass") and "testing key" in testing[0], testing

    revoked = dkim_parts(sign(base, "d.test", selector="revoked"))
    assert revoked[0].startswith("dkim=permerror reason=\"key revoked\""), revoked

    missing = dkim_parts(sign(base, "d.test", selector="missing"))
    assert missing[0].startswith("dkim=permerror") and "header.s=missing" in missing[0], missing

    servfail = dkim_parts(sign(base, "d.test", selector="broken"))
    assert servfail[0].startswith("dkim=temperror") and "header.s=broken" in servfail[0], servfail

    both = dkim_parts(sign(sign(base, "d.test", selector="r1", algorithm=b"rsa-sha256"), "d.test"))
    assert len(both) == 2
    assert both[0].startswith("dkim=pass") and "header.s=s1" in both[0]
    assert both[1].startswith("dkim=pass") and "header.s=r1" in both[1]


# ---- mailfort auth check ----

def test_auth_check_cli(instance, dns):
    publish_ed25519(dns, "sender.test")
    txt(dns, "_dmarc.sender.test", "v=DMARC1; p=reject")
    txt(dns, "sender.test", "v=spf1 ip4:127.0.0.5 -all")
    path = os.path.join(instance.dir, "msg.eml")
    signed = sign(message("a@sender.test"), "sender.test")
    with open(path, "wb") as f:
        f.write(signed.replace(b"\r\n", b"\n"))  # as saved on disk
    r = instance.cli("auth", "check", "--ip", "127.0.0.5", "--helo", "client.example.org", "--sender",
                     "a@sender.test", path)
    assert r.returncode == 0, r.stderr
    out = unfold(r.stdout.replace("\n", "\r\n"))
    assert out.startswith(f"Authentication-Results: {AUTHSERV}; spf=pass smtp.mailfrom=a@sender.test; "
                          f"dkim=pass header.d=sender.test"), out
    assert "dmarc=pass header.from=sender.test" in out
    assert r.stdout.rstrip().endswith("disposition: deliver")

    # Not from the SPF-listed address and not signed: reject, with the reason.
    unsigned = os.path.join(instance.dir, "unsigned.eml")
    with open(unsigned, "wb") as f:
        f.write(message("a@sender.test"))
    r = instance.cli("auth", "check", "--ip", "192.0.2.9", "--sender", "a@sender.test", unsigned)
    assert r.returncode == 0, r.stderr
    assert "spf=fail" in r.stdout and "dmarc=fail" in r.stdout
    assert re.search(r"^disposition: reject \(.*sender\.test", r.stdout, re.M), r.stdout

    # --json, message on stdin, no sender (SPF none).
    r = instance.cli("auth", "check", "--json", "-", input=signed.decode())
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["disposition"] == "deliver"
    assert j["spf"]["result"] == "none"
    assert j["dkim"][0]["result"] == "pass" and j["dkim"][0]["domain"] == "sender.test"
    assert j["dmarc"]["result"] == "pass" and j["dmarc"]["dkim_aligned"] is True
    assert j["dmarc"]["policy"] == "reject" and j["arc"]["result"] == "none"
    assert j["authentication_results"].startswith(f"Authentication-Results: {AUTHSERV};")


# ---- ARC: a trusted forwarder's verdict ----

def arc_forwarded(dns, from_addr="ceo@bank.test", forwarder="lists.test"):
    """A message as a mailing list forwards it: its own AR says dmarc=pass
    for the author (its check, before it changed the mail), then an ARC set
    made by dkimpy's arc_sign with the list's RSA key."""
    publish_rsa(dns, forwarder, selector="arc")
    msg = (f"Authentication-Results: {forwarder}; spf=pass smtp.mailfrom={from_addr}; "
           f"dkim=pass header.d=bank.test; dmarc=pass header.from=bank.test\r\n").encode() + \
        message(from_addr, subject="[list] news")
    sealed = dkim.arc_sign(msg, b"arc", forwarder.encode(), RSA_PRIVATE, forwarder.encode())
    return b"".join(sealed) + msg


def test_trusted_arc_forwarder_overrides_dmarc_failure(instance, dns):
    instance.set("inbound", "arc_trusted_forwarders", '["lists.test"]')
    instance.add_user(ALICE)
    instance.start()
    txt(dns, "_dmarc.bank.test", "v=DMARC1; p=reject")
    code, text = send(instance, arc_forwarded(dns), "bounces@lists.test")
    assert code == 250, text
    ours = [a for a in auth_results(only_message(instance)) if a.startswith(AUTHSERV)]
    assert len(ours) == 1
    assert "dmarc=fail" in ours[0] and "trusted ARC forwarder lists.test" in ours[0], ours
    assert ours[0].endswith("arc=pass"), ours
    assert instance.wait_log(r"smtp auth session=\d+ .* arc=pass disposition=deliver arc_override=true")
    # Another forwarder, not trusted: the DMARC policy stands.
    code, text = send(instance, arc_forwarded(dns, forwarder="other-list.test"), "bounces@other-list.test")
    assert code == 550 and text.startswith("5.7.1"), text


def test_dns_failure_is_temperror_and_delivered(mx, dns):
    dns.servfail("_dmarc.flaky.test")
    code, text = send(mx, message("a@flaky.test"), "a@flaky.test")
    assert code == 250, text
    ar = auth_results(only_message(mx))[0]
    assert "dmarc=temperror" in ar and "header.from=flaky.test" in ar, ar


def test_greylisting_lets_a_known_dkim_signing_domain_through(instance, dns):
    """A domain whose mail passed DKIM once (here through a permitted client)
    is not greylisted from another client; an unknown domain is."""
    instance.set("inbound", "greylisting", "true")
    instance.set("inbound", "greylist_delay_seconds", "3600")
    instance.add_user(ALICE)
    instance.start()
    publish_ed25519(dns, "known.example")
    instance.cli("access", "add", "127.0.0.21", "permit", check=True)
    code, text = send(instance, sign(message("a@known.example"), "known.example"), "a@known.example",
                      source="127.0.0.21")
    assert code == 250, text

    def rcpt_code(sender):
        s = smtplib.SMTP("127.0.0.1", instance.ports["mx"], local_hostname="client.example.org",
                         source_address=("127.0.0.22", 0), timeout=30)
        try:
            s.ehlo()
            assert s.mail(sender)[0] == 250
            return s.rcpt(ALICE)[0]
        finally:
            s.close()

    assert rcpt_code("b@known.example") == 250
    assert rcpt_code("b@unknown.example") == 451
