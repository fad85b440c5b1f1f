"""Local spam rules and URL blocklists end to end (issue 13): a rule file
with header, body, uri and meta rules gives symbols in X-Spamd-Result over
SMTP; URL hosts listed in a blocklist zone of the fake DNS give the zone's
URIBL_ symbol; one DNS question per name across messages (the blocklist's
own cache is proven by its unit test with a counting DNS double: here the
resolver's cache would answer as well); catastrophic-backtracking patterns cost nothing (RE2) while
another client is served; `mailfort check` and the server report bad rule
lines with file:line and keep the good ones.

One server for the file (module scope): the cache test needs one process
across two messages anyway. Clients connect to the MX from 127.0.0.5.
"""
import email.utils
import os
import re
import smtplib
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from conftest import BIN, Instance, run_as_owner  # noqa: E402
from dnsserver import FakeDNS  # noqa: E402

ALICE = "alice@example.test"
CLIENT = "127.0.0.5"
ZONE = "uribl.test"
URIBL_SYMBOL = "URIBL_URIBL_TEST"

RULES = r"""# test rules (issue 13)
header SUBJ_OFFER Subject =~ /limited offer/i 1.25 Subject sells something
header NO_LIST_ID exists:List-Id 0.5
header MAILER_BULK X-Mailer =~ /^BulkBlaster/ 0.75
body BODY_CLAIM /claim your (prize|reward)/i 1.5
uri URI_SHORTENER /^https?:\/\/short\.example\//i 0.5
body __BODY_URGENT /\burgent\b/i 0
meta OFFER_URGENT (SUBJ_OFFER && __BODY_URGENT) 0.25
meta OFFER_NOT_URGENT (SUBJ_OFFER && !__BODY_URGENT) 0.1
body BROKEN_RULE /(?<=lookbehind)x/ 1
body NESTED_PLUS /(a+)+$/ 0.1
body NESTED_XY /(x+x+)+y/ 0.1
rawbody RAW_ALTERNATION /(a|aa)+b/ 0.1
full FULL_STARS /(.*a){20}z/s 0.1
header SUBJ_NESTED Subject =~ /(a+)+b/ 0.1
"""
BROKEN_LINE = 10


@pytest.fixture(scope="module")
def env():
    dns = FakeDNS().start()
    inst = Instance(dns)
    rules = os.path.join(inst.dir, "local.rules")
    with open(rules, "w") as f:
        f.write(RULES)
    run_as_owner(rules)
    inst.set("spam", "rules", f'["{rules}"]')
    inst.set("spam", "uribl", f'["{ZONE}"]')
    inst.set("smtp", "max_message_size", str(8 * 1024 * 1024))
    inst.add_user(ALICE)
    inst.start()
    try:
        yield inst, dns, rules
    finally:
        try:
            inst.stop(expect_clean=False)
        finally:
            inst.cleanup()
            dns.stop()


def message(subject="Hello", body="Hi there.", extra=""):
    return (f"From: Ann <ann@sender.test>\r\nTo: <{ALICE}>\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{time.time_ns()}@client.example.org>\r\n"
            f"{extra}\r\n{body}\r\n").encode()


def send(inst, msg, timeout=60):
    """DATA over the MX: (code, text, seconds)."""
    start = time.monotonic()
    s = smtplib.SMTP("127.0.0.1", inst.ports["mx"], local_hostname="client.example.org",
                     source_address=(CLIENT, 0), timeout=timeout)
    try:
        s.ehlo()
        code, text = s.mail("ann@sender.test")
        assert code == 250, text
        code, text = s.rcpt(ALICE)
        assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode(), time.monotonic() - start
    finally:
        s.close()


def delivered(inst, marker):
    """The stored message (Inbox or Junk) whose Message-ID or body holds `marker`."""
    for root, _, files in os.walk(inst.maildir(ALICE)):
        if not (root.endswith("/new") or root.endswith("/cur")):
            continue
        for name in files:
            raw = open(os.path.join(root, name), "rb").read()
            if marker in raw:
                return raw
    return None


def spamd_result(raw):
    head = raw.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    unfolded = re.sub(r"\r\n[ \t]", " ", head)
    (value,) = [line.split(":", 1)[1] for line in unfolded.split("\r\n")
                if line.lower().startswith("x-spamd-result:")]
    return value


def symbols(raw):
    """{name: (score, options)} of X-Spamd-Result."""
    return {m.group(1): (float(m.group(2)), m.group(3))
            for m in re.finditer(r"([A-Z0-9_]+)\((-?[\d.]+)\)\[([^\]]*)\]", spamd_result(raw))}


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def check(config):
    """`mailfort -c CONFIG check` (another config than the instance's)."""
    return subprocess.run([BIN, "-c", str(config), "check"], capture_output=True, text=True, timeout=60)


def send_and_read(inst, subject="Hello", body="Hi there.", extra=""):
    marker = f"marker-{time.time_ns()}"
    code, text, _ = send(inst, message(subject, f"{body}\r\n{marker}", extra))
    assert code == 250, text
    raw = delivered(inst, marker.encode())
    assert raw is not None
    return raw


def test_header_body_uri_and_meta_rules_give_symbols(env):
    inst, _, _ = env
    raw = send_and_read(inst, subject="A LIMITED OFFER for you",
                        body="Claim your prize at https://short.example/abc today. Urgent!",
                        extra="X-Mailer: BulkBlaster 2.0\r\n")
    got = symbols(raw)
    assert got["SUBJ_OFFER"][0] == 1.25, got
    assert got["MAILER_BULK"][0] == 0.75
    assert got["BODY_CLAIM"][0] == 1.5
    assert got["URI_SHORTENER"] == (0.5, "short.example")
    assert got["OFFER_URGENT"][0] == 0.25
    for absent in ("NO_LIST_ID", "OFFER_NOT_URGENT", "__BODY_URGENT", "BROKEN_RULE", "NESTED_PLUS"):
        assert absent not in got, (absent, got)


def test_rules_that_do_not_match_add_nothing(env):
    inst, _, _ = env
    raw = send_and_read(inst, subject="Lunch", body="See you at noon.", extra="List-Id: <team.example>\r\n")
    got = symbols(raw)
    assert got["NO_LIST_ID"][0] == 0.5
    for rule in ("SUBJ_OFFER", "MAILER_BULK", "BODY_CLAIM", "URI_SHORTENER", "OFFER_URGENT", "OFFER_NOT_URGENT"):
        assert rule not in got, (rule, got)


def test_listed_url_host_gives_the_zone_symbol(env):
    inst, dns, _ = env
    dns.add(f"listed-one.example.{ZONE}", "A", "127.0.0.2")
    dns.add(f"refused.example.{ZONE}", "A", "127.255.255.254")  # an error code, not a listing
    raw = send_and_read(inst, body="Go to http://www.listed-one.example/buy and "
                                   "<https://refused.example/x> or hxxp://clean[.]example/")
    got = symbols(raw)
    assert URIBL_SYMBOL in got, got
    assert got[URIBL_SYMBOL][1] == "listed-one.example", got
    raw = send_and_read(inst, body="Only http://refused.example/ and http://clean.example/ here.")
    assert URIBL_SYMBOL not in symbols(raw)


def test_html_links_are_looked_up(env):
    inst, dns, _ = env
    dns.add(f"html-listed.example.{ZONE}", "A", "127.0.1.2")
    html = ('<html><body><p>Click <a href="http://tracker.html-listed.example/r?id=1&amp;x=2">here'
            "</a></p></body></html>")
    raw = send_and_read(inst, body=html, extra="MIME-Version: 1.0\r\nContent-Type: text/html\r\n")
    got = symbols(raw)
    assert URIBL_SYMBOL in got, got
    assert "html-listed.example" in got[URIBL_SYMBOL][1]


def test_idn_host_is_looked_up_as_its_a_label(env):
    inst, dns, _ = env
    dns.add(f"xn--bcher-kva.example.{ZONE}", "A", "127.0.0.2")  # bücher.example
    raw = send_and_read(inst, body="Books at http://www.B\u00dcCHER.example/sale",
                        extra="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n")
    got = symbols(raw)
    assert got.get(URIBL_SYMBOL, (0, ""))[1] == "xn--bcher-kva.example", got


def test_answers_are_cached_across_messages(env):
    inst, dns, _ = env
    dns.add(f"cached-listed.example.{ZONE}", "A", "127.0.0.3")
    names = [f"cached-listed.example.{ZONE}", f"www.cached-listed.example.{ZONE}",
             f"cached-clean.example.{ZONE}"]
    body = "See http://www.cached-listed.example/ and http://cached-clean.example/a"
    for _ in range(2):
        raw = send_and_read(inst, body=body)
        assert symbols(raw)[URIBL_SYMBOL][1] == "cached-listed.example"
    with dns.lock:
        asked = [q for q in dns.queries if q[0] in names and q[1] == "A"]
    assert sorted(n for n, _ in asked) == sorted(names), asked


def test_catastrophic_patterns_are_bounded_and_others_are_served(env):
    inst, _, _ = env
    # Worst cases for backtracking engines: 2 MB of 'a' and 'x' with no final match.
    lines = "\r\n".join(["a" * 990] * 1000 + ["x" * 990] * 1000)
    evil = message(subject="a" * 900, body=lines + "\r\n!")
    result = {}

    def hostile():
        result["evil"] = send(inst, evil)

    t = threading.Thread(target=hostile)
    t.start()
    others = [send(inst, message(body=f"meanwhile {i}")) for i in range(3)]
    t.join(60)
    assert not t.is_alive()
    code, text, seconds = result["evil"]
    assert code == 250, text
    assert seconds < 20, seconds
    for code, text, seconds in others:
        assert code == 250, text
        assert seconds < 10, seconds


def test_server_logs_bad_rule_lines_and_keeps_the_rest(env):
    inst, _, rules = env
    log = inst.log()
    assert re.search(rf'spam rule-problem file="?{re.escape(rules)}"? line={BROKEN_LINE} ', log), log[-3000:]
    assert "RE2" in log


def test_check_reports_rule_problems_with_file_and_line(env):
    inst, _, rules = env
    r = inst.cli("check")
    assert r.returncode == 1
    assert f"{rules}:{BROKEN_LINE}: RE2 refuses the pattern" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr  # the other lines are good


def test_check_accepts_good_rules_and_names_a_missing_file(env, tmp_path):
    inst, _, _ = env
    good = tmp_path / "good.rules"
    good.write_text("body GOOD_ONE /fine/ 1\nmeta GOOD_META (GOOD_ONE) 1\n")
    missing = tmp_path / "missing.rules"
    # Beside the instance's config: its relative paths (data, tls) resolve from there.
    config = os.path.join(inst.dir, "check-rules.toml")
    text = open(inst.config).read()
    text = re.sub(r"(?m)^rules = .*$", f'rules = ["{good}"]', text)
    write(config, text)
    r = check(config)
    assert r.returncode == 0, r.stderr
    write(config, re.sub(r"(?m)^rules = .*$", f'rules = ["{good}", "{missing}"]', text))
    r = check(config)
    assert r.returncode == 1
    assert re.search(rf"check-rules\.toml:\d+: {re.escape(str(missing))}: cannot read the rule file", r.stderr), r.stderr

