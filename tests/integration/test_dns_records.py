"""`mailfort dns DOMAIN`: the records a domain should publish, checked
against the instance's own certificate (openssl), its DKIM keys (`mailfort
dkim dns`), its listeners and the MTA-STS policy parser's rules."""

import hashlib
import re
import subprocess


def spki_sha256(cert):
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True,
                         check=True).stdout
    return hashlib.sha256(der).hexdigest()


def records(text):
    """Non-comment lines -> list of (name, type, data)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith(";"):
            continue
        m = re.match(r"^(\S+) IN (\S+) (.*)$", line)
        assert m, line
        out.append(m.groups())
    return out


def test_dns_prints_every_record(instance):
    r = instance.cli("dns", "example.test", check=True)
    text = r.stdout
    recs = records(text)
    by_type = {}
    for name, rtype, data in recs:
        by_type.setdefault(rtype, []).append((name, data))
    assert ("example.test.", "10 mail.example.test.") in by_type["MX"]
    txt = {name: data for name, data in by_type["TXT"] if "_domainkey" not in name}
    assert txt["example.test."] == '"v=spf1 mx -all"'
    assert txt["_dmarc.example.test."].startswith('"v=DMARC1; p=quarantine;')
    assert "rua=mailto:postmaster@example.test" in txt["_dmarc.example.test."]
    assert re.fullmatch(r'"v=STSv1; id=[0-9a-f]{16};"', txt["_mta-sts.example.test."])
    assert txt["_smtp._tls.example.test."] == '"v=TLSRPTv1; rua=mailto:postmaster@example.test"'
    # The policy file to serve, as comment lines.
    assert "https://mta-sts.example.test/.well-known/mta-sts.txt" in text
    policy = [l[4:] for l in text.splitlines() if l.startswith(";   ")]
    assert policy == ["version: STSv1", "mode: enforce", "mx: mail.example.test", "max_age: 604800"]
    # TLSA 3 1 1 of the instance's certificate, computed independently.
    assert by_type["TLSA"] == [("_25._tcp.mail.example.test.", "3 1 1 " + spki_sha256(instance.cert))]
    # DKIM: exactly the records `mailfort dkim dns` prints (rsa2048 and ed25519 from init).
    dkim = instance.cli("dkim", "dns", "example.test", check=True).stdout.strip().splitlines()
    assert len(dkim) == 2
    for line in dkim:
        assert line in text.splitlines()
    # SRV records from the listeners (ports of this test instance).
    srv = dict(by_type["SRV"])
    p = instance.ports
    assert srv["_submissions._tcp.example.test."] == f"0 1 {p['smtps']} mail.example.test."
    assert srv["_submission._tcp.example.test."] == f"0 1 {p['submission']} mail.example.test."
    assert srv["_imaps._tcp.example.test."] == f"0 1 {p['imaps']} mail.example.test."
    assert srv["_imap._tcp.example.test."] == f"0 1 {p['imap']} mail.example.test."
    assert srv["_pop3s._tcp.example.test."] == f"0 1 {p['pop3s']} mail.example.test."
    # Every record has an explaining comment right before it.
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(";") and "SRV" not in line:
            assert lines[i - 1].startswith(";"), line


def test_dns_refuses_unknown_domain(instance):
    r = instance.cli("dns", "nowhere.test")
    assert r.returncode != 0
    assert "not a local domain" in r.stderr
