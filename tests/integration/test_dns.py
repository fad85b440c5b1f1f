"""Every test instance resolves only through the fake DNS server on loopback."""
import smtplib


def test_resolve_goes_to_the_fake_dns(instance, dns):
    dns.add("mail.example.test", "A", "127.0.0.1")
    dns.add("example.test", "MX", "20 backup.example.test.")
    dns.add("example.test", "MX", "10 mail.example.test.")
    dns.add("example.test", "TXT", '"v=spf1 mx -all"')
    r = instance.cli("resolve", "mail.example.test", "A")
    assert r.returncode == 0, r.stderr
    assert "mail.example.test A 127.0.0.1" in r.stdout
    assert "secure=no" in r.stdout
    mx = instance.cli("resolve", "example.test", "MX").stdout.strip().split("\n")[1:]
    assert mx == ["example.test MX 10 mail.example.test", "example.test MX 20 backup.example.test"]
    assert "v=spf1 mx -all" in instance.cli("resolve", "example.test", "TXT").stdout
    nx = instance.cli("resolve", "nothing.example.test", "A")
    assert nx.returncode == 1 and "status=nxdomain" in nx.stdout
    nodata = instance.cli("resolve", "mail.example.test", "AAAA")
    assert nodata.returncode == 1 and "status=nodata" in nodata.stdout
    assert ("mail.example.test", "A") in dns.queries


def test_unresolvable_helo_refused_when_configured(instance, dns):
    dns.add("known.example.org", "A", "127.0.0.1")
    instance.set("smtp", "reject_unresolvable_helo", "true")
    instance.start()
    s = smtplib.SMTP("127.0.0.1", instance.ports["mx"], local_hostname="ghost.example.org", timeout=10)
    code, msg = s.ehlo()
    assert code == 450 and b"Host not found" in msg
    code, _ = s.ehlo("known.example.org")
    assert code == 250
    s.quit()
    assert ("ghost.example.org", "A") in dns.queries


def test_private_and_documentation_reverse_zones_go_to_the_forwarder(instance, dns):
    # unbound answers these from built-in local zones unless told otherwise;
    # behind a forwarder they must be asked (SPF ptr, FCrDNS, the SPF suite).
    dns.add("9.0.0.127.in-addr.arpa", "PTR", "loop.example.test.")
    dns.add("1.2.0.192.in-addr.arpa", "PTR", "doc.example.test.")
    dns.add("5.0.0.10.in-addr.arpa", "PTR", "lan.example.test.")
    dns.add("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR", "v6.example.test.")
    for ip, name in [("127.0.0.9", "loop"), ("192.0.2.1", "doc"), ("10.0.0.5", "lan"), ("2001:db8::1", "v6")]:
        r = instance.cli("resolve", ip, "PTR")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"PTR {name}.example.test" in r.stdout


def test_fake_dns_servfail_and_timeout(instance, dns):
    dns.servfail("broken.example.test")
    dns.timeout("slow.example.test")
    dns.add("slow.example.test", "TXT", '"still here"')
    assert "status=servfail" in instance.cli("resolve", "broken.example.test", "A").stdout
    r = instance.cli("resolve", "slow.example.test", "A")
    assert r.returncode == 1 and "status=ok" not in r.stdout
    assert "still here" in instance.cli("resolve", "slow.example.test", "TXT").stdout
