"""`mailfort dns check DOMAIN`: what a local domain publishes (fake DNS on
loopback, through the configured resolver) against what `mailfort dns DOMAIN`
says it should publish, record by record; exit 1 when anything is missing or
wrong. `mailfort dns DOMAIN` keeps printing the records."""
import re

HOST_IP = "11.22.33.44"  # not a range unbound answers itself; the fake DNS has its PTR


def publish_all(instance, dns, skip=()):
    """Every record `mailfort dns example.test` prints, into the fake DNS."""
    text = instance.cli("dns", "example.test", check=True).stdout
    for line in text.splitlines():
        m = re.match(r"^(\S+)\.\s+IN\s+(\S+)\s+(.*)$", line)
        if not m or m.group(2) == "SRV":
            continue
        name, rtype, data = m.groups()
        if (name, rtype) in skip:
            continue
        dns.add(name, rtype, data)
    dns.add("mail.example.test", "A", HOST_IP)
    dns.add(".".join(reversed(HOST_IP.split("."))) + ".in-addr.arpa", "PTR", "mail.example.test.")


def lines(r):
    return [l for l in r.stdout.splitlines() if l]


def test_everything_published_is_ok(instance, dns):
    publish_all(instance, dns)
    r = instance.cli("dns", "check", "example.test")
    out = lines(r)
    assert r.returncode == 0, r.stdout + r.stderr
    assert all(l.startswith("OK ") for l in out), out
    assert "OK example.test MX: 10 mail.example.test" in out
    assert 'OK example.test TXT: SPF: "v=spf1 mx -all"' in out
    dkim = [l for l in out if "._domainkey.example.test TXT: DKIM " in l]
    assert len(dkim) == 2, out  # rsa2048 and ed25519 from init
    assert any(l.startswith("OK _dmarc.example.test TXT: DMARC: p=quarantine") for l in out), out
    assert any(l.startswith("OK _mta-sts.example.test TXT: MTA-STS: id=") for l in out), out
    assert "OK _smtp._tls.example.test TXT: TLSRPT: rua=mailto:postmaster@example.test" in out
    assert any(l.startswith("OK _25._tcp.mail.example.test TLSA: 3 1 1 ") for l in out), out
    assert f"OK {HOST_IP} PTR: mail.example.test" in out
    # The printing form still works.
    assert "IN MX 10 mail.example.test." in instance.cli("dns", "example.test", check=True).stdout


def test_missing_dmarc_and_wrong_spf(instance, dns):
    publish_all(instance, dns, skip={("_dmarc.example.test", "TXT"), ("example.test", "TXT")})
    dns.add("example.test", "TXT", '"v=spf1 ip4:192.0.2.1 +all"')
    r = instance.cli("dns", "check", "example.test")
    out = lines(r)
    assert r.returncode == 1, r.stdout + r.stderr
    bad = [l for l in out if not l.startswith("OK ")]
    assert len(bad) == 2, out
    assert bad[0].startswith('WRONG example.test TXT: SPF: "v=spf1 ip4:192.0.2.1 +all" does not authorise'), bad
    assert bad[1].startswith("MISSING _dmarc.example.test TXT: DMARC: no record"), bad
    assert "2 record(s) of example.test missing or wrong" in r.stderr


def test_wrong_key_mx_tlsa_and_ptr(instance, dns):
    dkim_names = [l.split()[0].rstrip(".") for l in
                  instance.cli("dkim", "dns", "example.test", check=True).stdout.splitlines()]
    publish_all(instance, dns, skip={("example.test", "MX"), ("_25._tcp.mail.example.test", "TLSA"),
                                     (dkim_names[0], "TXT")})
    dns.add("example.test", "MX", "10 mx.elsewhere.test.")
    dns.add("_25._tcp.mail.example.test", "TLSA", "3 1 1 " + "ab" * 32)
    dns.add(dkim_names[0], "TXT", '"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong"')
    dns.records.pop(".".join(reversed(HOST_IP.split("."))) + ".in-addr.arpa")
    r = instance.cli("dns", "check", "example.test")
    out = lines(r)
    assert r.returncode == 1
    assert "WRONG example.test MX: 10 mx.elsewhere.test (expected mail.example.test)" in out, out
    assert any(l.startswith(f"WRONG {dkim_names[0]} TXT: DKIM ") and "differs" in l for l in out), out
    assert any(l.startswith("WRONG _25._tcp.mail.example.test TLSA: no record matches") for l in out), out
    assert f"MISSING {HOST_IP} PTR: no PTR (expected mail.example.test)" in out, out


def test_not_a_local_domain_and_no_domain(instance, dns):
    r = instance.cli("dns", "check", "other.test")
    assert r.returncode == 1 and "not a local domain" in r.stderr
    r = instance.cli("dns")
    assert r.returncode != 0 and "DOMAIN is required" in r.stderr
