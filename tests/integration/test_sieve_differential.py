"""Differential test against Pigeonhole: every script of sieve_corpus/scripts
× every message of sieve_corpus/messages runs through Debian's `sieve-test`
(dovecot-sieve) and through `mailfort sieve test`; the printed actions must
agree after a small normalisation (flag case and order, the vacation
handle, which each implementation derives its own way).

Both sides get the same input: the envelope below, TZ=UTC, personal
includes from sieve_corpus/scripts (names starting with "_" are only
included, never run alone), global ones from sieve_corpus/global, the spam
score from the message's X-Spam-Score header (Pigeonhole reads it with
sieve_spamtest_status_header; Mailfort gets --spam-score) and the virus
status from X-Virus-Scan (clean = 1, infected = 5). The messages have CRLF
line ends, as on the wire, so both count the same size.
"""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "sieve_corpus")
SCRIPTS = os.path.join(CORPUS, "scripts")
MESSAGES = os.path.join(CORPUS, "messages")
GLOBAL = os.path.join(CORPUS, "global")
SIEVE_TEST = shutil.which("sieve-test")
SPAM_MAX = 15  # Pigeonhole's sieve_spamtest_max_value; Mailfort gets scores 0 or >= it only

pytestmark = pytest.mark.skipif(SIEVE_TEST is None, reason="sieve-test (dovecot-sieve) is not installed")

USER = "alice@example.test"
# The envelope of each message: (MAIL FROM, RCPT TO).
ENVELOPES = {
    "detail.eml": ("orders@shop.other.test", "alice+orders@example.test"),
    "list.eml": ("dev-bounces@lists.other.test", USER),
    "bounce.eml": ("MAILER-DAEMON@other.test", USER),
    "multi.eml": ("assistant@example.test", USER),
    "encoded.eml": ("juergen@other.test", USER),
}
DEFAULT_ENVELOPE = ("sender@other.test", USER)

# Intended differences, each with its reason: (script, message or "*").
ALLOW = {
    # Pigeonhole's environment "name"/"location" and its defaults in sieve-test
    # differ from a real MDA; Mailfort answers as its delivery does.
    ("environment_location", "*"): "sieve-test reports its own environment, not an MDA's",
    ("environment_domain", "*"): "sieve-test runs outside a delivery phase",
}


def scripts():
    return sorted(f[:-6] for f in os.listdir(SCRIPTS) if f.endswith(".sieve") and not f.startswith("_"))


def messages():
    return sorted(f for f in os.listdir(MESSAGES) if f.endswith(".eml"))


def header(path, name):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                return None
            if line.lower().startswith(name.lower() + ":"):
                return line.split(":", 1)[1].strip()
    return None


DOVECOT_CONF = """\
base_dir = {tmp}/run
first_valid_uid = 0
first_valid_gid = 0
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{tmp}/mail
plugin {{
  sieve = file:{scripts}
  sieve_global = {global_dir}
  sieve_extensions = +vacation-seconds +editheader +spamtest +spamtestplus +virustest
  sieve_spamtest_status_type = score
  sieve_spamtest_status_header = X-Spam-Score: ([0-9.]+)
  sieve_spamtest_max_value = {spam_max}
  sieve_virustest_status_type = text
  sieve_virustest_status_header = X-Virus-Scan: ([a-z]+)
  sieve_virustest_text_value1 = clean
  sieve_virustest_text_value5 = infected
}}
"""


@pytest.fixture(scope="module")
def pigeonhole():
    tmp = tempfile.mkdtemp(prefix="sieve-diff-", dir="/tmp")
    os.chmod(tmp, 0o777)
    conf = os.path.join(tmp, "dovecot.conf")
    # Copies, so Pigeonhole's compiled .svbin files stay out of the source tree.
    scripts_copy, global_copy = os.path.join(tmp, "scripts"), os.path.join(tmp, "global")
    shutil.copytree(SCRIPTS, scripts_copy)
    shutil.copytree(GLOBAL, global_copy)
    # Dovecot refuses mail access as root: as root, run as nobody.
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    with open(conf, "w") as f:
        f.write(DOVECOT_CONF.format(tmp=tmp, scripts=scripts_copy, global_dir=global_copy, spam_max=SPAM_MAX,
                                    uid=uid, gid=gid))
    for d in (scripts_copy, global_copy):
        os.chmod(d, 0o777)
    for d in ("run", "mail"):
        os.makedirs(os.path.join(tmp, d))
        os.chmod(os.path.join(tmp, d), 0o777)
    yield tmp, conf
    shutil.rmtree(tmp, ignore_errors=True)


def run_pigeonhole(env, script, message):
    tmp, conf = env
    sender, rcpt = ENVELOPES.get(message, DEFAULT_ENVELOPE)
    args = [SIEVE_TEST, "-c", conf, "-a", rcpt, "-f", sender, os.path.join(tmp, "scripts", script + ".sieve"),
            os.path.join(MESSAGES, message)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60,
                       env={"TZ": "UTC", "HOME": tmp, "PATH": os.environ.get("PATH", "")})
    return r


def run_mailfort(instance, script, message):
    sender, rcpt = ENVELOPES.get(message, DEFAULT_ENVELOPE)
    path = os.path.join(MESSAGES, message)
    args = ["sieve", "test", os.path.join(SCRIPTS, script + ".sieve"), path, "--from", sender, "--to", rcpt,
            "--global-dir", GLOBAL]
    score = header(path, "X-Spam-Score")
    if score is not None:
        args += ["--spam-score", score]
    virus = header(path, "X-Virus-Scan")
    if virus in ("clean", "infected"):
        args += ["--virus", "1" if virus == "clean" else "5"]
    r = subprocess.run([instance_bin(), "-c", instance.config, *args], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "TZ": "UTC"})
    return r


def instance_bin():
    from conftest import BIN
    return BIN


def actions(stdout):
    """The "Performed actions" and "Implicit keep" lines, normalised."""
    out = []
    lines = stdout.splitlines()
    try:
        start = lines.index("Performed actions:")
    except ValueError:
        return None
    in_message = False
    for line in lines[start:]:
        if line == "START MESSAGE":
            in_message = True
        if in_message:
            if line == "END MESSAGE":
                in_message = False
            continue
        # Pigeonhole-only / Mailfort-only annotations: the vacation handle
        # (derived differently), Pigeonhole's duplicate tracking note, and
        # Mailfort's note that delivery would suppress a vacation reply
        # (sieve-test only lists the action; it never sends).
        # Mailfort also prints the default subject ("Auto: " + the original's,
        # RFC 5230 5.4) that Pigeonhole leaves out when :subject is absent.
        if (not line.strip() or "=> handle" in line or line == " * track duplicate"
                or line.startswith("    => subject : Auto: ")
                or line.startswith("        + no reply will be sent")):
            continue
        m = re.match(r"^(\s*\+ add IMAP flags: )(.*)$", line)
        if m:
            line = m.group(1) + " ".join(sorted(set(m.group(2).lower().split())))
        out.append(line.rstrip())
    # Pigeonhole prints no "(none)" when its only action was a duplicate
    # tracking note (dropped above): the same empty list of actions.
    if len(out) > 1 and out[0] == "Performed actions:" and out[1] == "Implicit keep:":
        out.insert(1, "  (none)")
    return out


@pytest.fixture(scope="module")
def mf_instance():
    from conftest import Instance
    from dnsserver import FakeDNS
    dns = FakeDNS().start()
    inst = Instance(dns)
    inst.add_user(USER)
    yield inst
    inst.cleanup()
    dns.stop()


def test_corpus_is_large_enough():
    assert len(scripts()) >= 60
    assert len(messages()) >= 10


def test_every_corpus_script_compiles_in_pigeonhole(pigeonhole):
    tmp, conf = pigeonhole
    failed = []
    for s in scripts():
        r = run_pigeonhole(pigeonhole, s, "plain.eml")
        if r.returncode != 0:
            failed.append((s, r.stderr[-400:]))
    assert not failed, failed


@pytest.mark.parametrize("script", scripts())
def test_differential(pigeonhole, mf_instance, script):
    diffs = []
    for message in messages():
        if (script, "*") in ALLOW or (script, message) in ALLOW:
            continue
        ph = run_pigeonhole(pigeonhole, script, message)
        mf = run_mailfort(mf_instance, script, message)
        assert ph.returncode == 0, f"sieve-test {script} {message}: {ph.stderr}"
        assert mf.returncode == 0, f"mailfort {script} {message}: {mf.stderr}"
        a, b = actions(ph.stdout), actions(mf.stdout)
        if a != b:
            diffs.append(f"{message}:\n  pigeonhole: {a}\n  mailfort:   {b}\n  ({mf.stderr.strip()})")
    assert not diffs, f"{script}:\n" + "\n".join(diffs)


# Extensions Debian's Pigeonhole does not have: run through Mailfort only,
# against the output sieve-test would print for the equivalent action.
MAILFORT_ONLY = {
    ("ereject_basic", "spam.eml"): ["Performed actions:", " * reject message with reason: No lotteries, please.",
                                    "Implicit keep:", "  (none)"],
    ("ereject_basic", "plain.eml"): ["Performed actions:", "  (none)", "Implicit keep:",
                                     " * store message in folder: INBOX"],
}


@pytest.mark.parametrize("case", sorted(MAILFORT_ONLY))
def test_mailfort_only(mf_instance, case):
    script, message = case
    sender, rcpt = ENVELOPES.get(message, DEFAULT_ENVELOPE)
    r = subprocess.run([instance_bin(), "-c", mf_instance.config, "sieve", "test",
                        os.path.join(CORPUS, "mailfort_only", script + ".sieve"), os.path.join(MESSAGES, message),
                        "--from", sender, "--to", rcpt], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert actions(r.stdout) == MAILFORT_ONLY[case]


INVALID = os.path.join(CORPUS, "invalid")


def invalid_scripts():
    return sorted(f for f in os.listdir(INVALID) if f.endswith(".sieve"))


@pytest.mark.parametrize("script", invalid_scripts())
def test_invalid_script_refused_by_both(pigeonhole, mf_instance, script):
    """Scripts with a wrong argument, tag or value: Pigeonhole's sievec and
    `mailfort sieve check` both refuse them, Mailfort with SCRIPT:line:column."""
    tmp, conf = pigeonhole
    copy = os.path.join(tmp, "invalid-" + script)
    shutil.copy(os.path.join(INVALID, script), copy)
    os.chmod(copy, 0o644)
    cmd = [shutil.which("sievec") or "sievec", "-c", conf, copy, copy + ".svbin"]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    ph = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={"TZ": "UTC", "HOME": tmp, "PATH": os.environ.get("PATH", "")})
    assert ph.returncode != 0, f"sievec accepted {script}"
    mf = subprocess.run([instance_bin(), "-c", mf_instance.config, "sieve", "check", os.path.join(INVALID, script)],
                        capture_output=True, text=True, timeout=60)
    assert mf.returncode != 0, f"mailfort accepted {script}"
    assert re.search(re.escape(script) + r":\d+:\d+: ", mf.stdout + mf.stderr), mf.stdout + mf.stderr
