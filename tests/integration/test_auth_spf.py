"""`mailfort auth spf` beyond the OpenSPF suite: output format, exit codes,
%{r} from the config's hostname, and a DNS timeout as temperror."""
from conftest import HOST


def test_result_then_explanation_and_receiver(instance, dns):
    dns.add("example.test", "TXT", '"v=spf1 ip4:127.0.0.0/8 -all exp=why.example.test"')
    dns.add("why.example.test", "TXT", '"%{c} is not %{d} says %{r}"')
    r = instance.cli("auth", "spf", "--ip", "192.0.2.9", "--helo", "client.example.org", "--sender", "a@example.test")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "fail"
    assert lines[1] == f"192.0.2.9 is not example.test says {HOST}"  # %{r} is our hostname
    ok = instance.cli("auth", "spf", "--ip", "127.0.0.5", "--helo", "client.example.org", "--sender", "a@example.test")
    assert ok.returncode == 0 and ok.stdout == "pass\n"


def test_helo_identity_and_none(instance, dns):
    dns.add("client.example.org", "TXT", '"v=spf1 ip6:2001:db8::/32 ~all"')
    r = instance.cli("auth", "spf", "--ip", "2001:db8::7", "--helo", "client.example.org")
    assert r.stdout == "pass\n", r.stderr
    assert instance.cli("auth", "spf", "--ip", "192.0.2.1", "--helo", "client.example.org").stdout == "softfail\n"
    assert instance.cli("auth", "spf", "--ip", "192.0.2.1", "--helo", "[192.0.2.1]").stdout == "none\n"
    assert instance.cli("auth", "spf", "--ip", "192.0.2.1", "--helo", "x", "--sender", "a@nothing.test").stdout == "none\n"


def test_usage_errors(instance, dns):
    bad = instance.cli("auth", "spf", "--ip", "300.1.1.1", "--helo", "client.example.org")
    assert bad.returncode == 1 and "not an IP address" in bad.stderr and bad.stdout == ""
    missing = instance.cli("auth", "spf", "--helo", "client.example.org")
    assert missing.returncode != 0 and "--ip" in missing.stderr
    assert instance.cli("auth").returncode != 0


def test_dns_timeout_is_temperror(instance, dns):
    dns.add("example.test", "TXT", '"v=spf1 include:slow.example.test -all"')
    dns.timeout("slow.example.test")
    r = instance.cli("auth", "spf", "--ip", "192.0.2.1", "--helo", "h.example.org", "--sender", "a@example.test")
    assert r.returncode == 0 and r.stdout == "temperror\n", r.stderr
