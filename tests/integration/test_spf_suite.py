"""The OpenSPF RFC 7208 test suite, every case, through `mailfort auth spf`.

The suite (rfc7208-tests.yml, from Debian's python3-spf, see
scripts/install-deps.sh) is a list of scenarios: zone data and cases (client
IP, HELO, MAIL FROM, the acceptable results, sometimes the explanation).
Each scenario's zone is served by the fake DNS on loopback; each case is one
CLI run. The zone is loaded the way the suite's own driver (pyspf's
testspf.py) reads it:
- a name with "SPF" (type 99) records and no TXT also gets them as TXT
  (the suite's convention), unless it lists TXT: NONE;
- TXT and SPF records keep their several character-strings apart;
- TIMEOUT: queries of that name for types not listed before it fail; the
  records after it are ignored. The fake DNS answers SERVFAIL there (a real
  timeout costs unbound ~17 s a query; both are temperror to SPF, and
  test_dns.py covers the timeout path);
- "DEFAULT" as the expected explanation means the implementation's own
  default, i.e. no exp= text: `auth spf` then prints no second line.
"""
import gzip
import socket

import pytest
import yaml
from dnslib import AAAA, CNAME, MX, PTR, TXT, A, DNSLabel

from conftest import Instance
from dnsserver import FakeDNS

SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"


def load_suite():
    with gzip.open(SUITE) as f:
        return [s for s in yaml.safe_load_all(f) if s]


SCENARIOS = load_suite()
CASES = [(i, name) for i, s in enumerate(SCENARIOS) for name in s["tests"]]


def strings(v):
    # A TXT record of no strings (the suite's "null-text" case) is not
    # valid DNS (RFC 1035 3.3.14) and unbound drops the answer as
    # malformed; it is served as the nearest valid record, one empty string.
    return [x.encode() for x in (v if isinstance(v, list) else [v])] or [b""]


def rdata(rtype, v):
    if rtype in ("TXT", "SPF"):
        return TXT(strings(v))
    if rtype == "A":
        return A(v)
    if rtype == "AAAA":
        return AAAA(socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, v)))
    if rtype == "MX":
        return MX(v[1], v[0])
    if rtype == "PTR":
        return PTR(v)
    if rtype == "CNAME":
        return CNAME(v)
    raise ValueError(rtype)


def load_zone(dns, zonedata):
    with dns.lock:
        dns.records.clear()
        dns.failures.clear()
    for name, entries in (zonedata or {}).items():
        key = str(DNSLabel(name))
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        for e in entries:
            if e == "TIMEOUT":
                dns.servfail(key)
                break  # the suite's driver ignores what follows
            (rtype, v), = e.items()
            if v == "NONE":
                continue
            dns.add(key, rtype, rdata(rtype, v))
            if rtype == "SPF" and not has_txt:
                dns.add(key, "TXT", rdata(rtype, v))


@pytest.fixture(scope="module")
def spf_env():
    dns = FakeDNS().start()
    inst = Instance(dns)
    env = {"dns": dns, "inst": inst, "loaded": None}
    yield env
    inst.cleanup()
    dns.stop()


@pytest.mark.parametrize("scenario,case", CASES, ids=[f"{i}-{n}" for i, n in CASES])
def test_rfc7208_suite(spf_env, scenario, case):
    s = SCENARIOS[scenario]
    if spf_env["loaded"] != scenario:
        load_zone(spf_env["dns"], s.get("zonedata"))
        spf_env["loaded"] = scenario
    t = s["tests"][case]
    args = ["auth", "spf", "--ip", t["host"], "--helo", t["helo"]]
    if t["mailfrom"]:
        args += ["--sender", t["mailfrom"]]
    r = spf_env["inst"].cli(*args)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    expected = t["result"] if isinstance(t["result"], list) else [t["result"]]
    why = f"{s['description']} / {case}: {t.get('description', '')} spec {t['spec']}; stderr: {r.stderr.strip()}"
    assert lines[0] in expected, why
    if "explanation" in t:
        got = lines[1] if len(lines) > 2 else ""
        want = "" if t["explanation"] == "DEFAULT" else t["explanation"]
        assert got == want, why
