"""`mailfort sieve ...` and `mailfort import sieve` on a real instance.

check/test print what the compiler and interpreter decide; list/get/put/
activate/deactivate/remove manage an account's stored scripts (the same
store ManageSieve uses); import takes over Pigeonhole script directories.
"""
import os

import pytest

USER = "alice@example.test"

FILING = b'require ["fileinto", "imap4flags"];\r\nif header :contains "subject" "report" {\r\n' \
         b'  fileinto :flags "\\\\Flagged" "Reports";\r\n}\r\n'
BROKEN = 'require "fileinto";\nif true {\n  fileinot "x";\n}\n'

MESSAGE = ("From: Bob <bob@other.test>\r\nTo: alice@example.test\r\nSubject: weekly report\r\n"
           "Message-ID: <1@other.test>\r\n\r\nnumbers\r\n")


def write(instance, name, data):
    path = os.path.join(instance.dir, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


@pytest.fixture
def inst(instance):
    instance.add_user(USER)
    return instance


def test_check_ok_and_errors_with_line_and_column(inst):
    good = write(inst, "good.sieve", FILING)
    r = inst.cli("sieve", "check", good)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout
    bad = write(inst, "bad.sieve", BROKEN)
    r = inst.cli("sieve", "check", bad)
    assert r.returncode == 1
    # SCRIPT:line:column: message, one a line; the unknown command is on line 3, column 3.
    first = r.stderr.strip().splitlines()[0]
    assert first.startswith(bad + ":3:3: "), r.stderr
    assert "fileinot" in first


def test_test_prints_actions_like_sieve_test(inst):
    script = write(inst, "filing.sieve", FILING)
    msg = write(inst, "m.eml", MESSAGE)
    r = inst.cli("sieve", "test", script, msg, "--from", "bob@other.test", "--to", USER)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Performed actions:" in lines and "Implicit keep:" in lines
    assert " * store message in folder: Reports" in lines
    assert "        + add IMAP flags: \\Flagged" in lines
    keep = lines[lines.index("Implicit keep:"):]
    assert "  (none)" in keep
    other = write(inst, "m2.eml", MESSAGE.replace("weekly report", "lunch"))
    r = inst.cli("sieve", "test", script, other, "--from", "bob@other.test", "--to", USER)
    lines = r.stdout.splitlines()
    performed = lines[lines.index("Performed actions:"):lines.index("Implicit keep:")]
    assert "  (none)" in performed
    assert " * store message in folder: INBOX" in lines[lines.index("Implicit keep:"):]


def test_test_refuses_unknown_user_and_bad_script(inst):
    script = write(inst, "filing.sieve", FILING)
    msg = write(inst, "m.eml", MESSAGE)
    r = inst.cli("sieve", "test", script, msg, "--user", "nobody@example.test")
    assert r.returncode == 1 and "no account" in r.stderr
    bad = write(inst, "bad.sieve", BROKEN)
    r = inst.cli("sieve", "test", bad, msg)
    assert r.returncode == 1 and bad + ":3:3:" in r.stderr


def test_store_commands_round_trip(inst):
    script = write(inst, "filing.sieve", FILING)
    assert inst.cli("sieve", "list", USER, check=True).stdout == ""
    inst.cli("sieve", "put", USER, "main", script, check=True)
    # Standard input when FILE is "-" (or absent).
    inst.cli("sieve", "put", USER, "other", "-", input='keep;\n', check=True)
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["main", "other"]
    # (text mode turns the stored CRLF into LF)
    assert inst.cli("sieve", "get", USER, "main", check=True).stdout.encode() == FILING.replace(b"\r\n", b"\n")
    inst.cli("sieve", "activate", USER, "main", check=True)
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["main ACTIVE", "other"]
    # The active script cannot be removed; a deactivated one can.
    r = inst.cli("sieve", "remove", USER, "main")
    assert r.returncode == 1 and "active" in r.stderr
    inst.cli("sieve", "deactivate", USER, check=True)
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["main", "other"]
    inst.cli("sieve", "remove", USER, "main", check=True)
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["other"]
    r = inst.cli("sieve", "get", USER, "main")
    assert r.returncode == 1
    r = inst.cli("sieve", "activate", USER, "main")
    assert r.returncode == 1


def test_put_refuses_bad_script_unknown_account_and_bad_name(inst):
    bad = write(inst, "bad.sieve", BROKEN)
    r = inst.cli("sieve", "put", USER, "main", bad)
    assert r.returncode == 1 and bad + ":3:3:" in r.stderr
    assert inst.cli("sieve", "list", USER, check=True).stdout == ""  # nothing stored
    good = write(inst, "good.sieve", "keep;\n")
    for cmd in (["list", "nobody@example.test"], ["put", "nobody@example.test", "main", good],
                ["get", "nobody@example.test", "main"], ["deactivate", "nobody@example.test"]):
        r = inst.cli("sieve", *cmd)
        assert r.returncode == 1 and "no account" in r.stderr, cmd
    r = inst.cli("sieve", "put", USER, "a/b", good)
    assert r.returncode == 1 and "invalid script name" in r.stderr


def test_put_respects_quota(inst):
    inst.set("sieve", "max_script_size", "1024")
    big = write(inst, "big.sieve", "keep;\n" + "# padding\n" * 120)
    r = inst.cli("sieve", "put", USER, "big", big)
    assert r.returncode == 1, r.stdout
    assert inst.cli("sieve", "list", USER, check=True).stdout == ""


def make_pigeonhole_tree(root):
    """ROOT/<domain>/<user>/scripts/*.sieve + active-script.sieve, as the seed's Dovecot has it."""
    def user_dir(domain, user, scripts, active=None):
        d = os.path.join(root, domain, user)
        os.makedirs(os.path.join(d, "scripts"))
        for name, text in scripts.items():
            with open(os.path.join(d, "scripts", name + ".sieve"), "w") as f:
                f.write(text)
        if active:
            os.symlink(f"scripts/{active}.sieve", os.path.join(d, "active-script.sieve"))
    user_dir("example.test", "alice", {"roundcube": 'require "fileinto";\nfileinto "Lists";\n',
                                       "old": "keep;\n"}, active="roundcube")
    user_dir("example.test", "carol", {"broken": BROKEN}, active="broken")
    user_dir("example.test", "ghost", {"x": "keep;\n"}, active="x")
    os.makedirs(os.path.join(root, "global"))
    with open(os.path.join(root, "global", "spam-global.sieve"), "w") as f:
        f.write('require "fileinto";\nif header :is "X-Spam" "Yes" { fileinto "Spam"; }\n')


def test_import_pigeonhole_directories(inst):
    inst.add_user("carol@example.test")
    root = os.path.join(inst.dir, "pigeonhole")
    make_pigeonhole_tree(root)

    dry = inst.cli("import", "sieve", root, "--dry-run")
    assert "would import" in dry.stdout, dry.stdout
    assert inst.cli("sieve", "list", USER, check=True).stdout == ""

    r = inst.cli("import", "sieve", root)
    out = r.stdout
    assert r.returncode == 1, out  # carol's script does not compile: reported
    assert "global: skipped" in out
    assert "ghost@example.test: skipped: no such account" in out
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["old", "roundcube ACTIVE"]
    assert inst.cli("sieve", "get", USER, "roundcube", check=True).stdout == 'require "fileinto";\nfileinto "Lists";\n'
    # A script that does not compile is kept but not activated.
    assert inst.cli("sieve", "list", "carol@example.test", check=True).stdout.splitlines() == ["broken"]
    assert "not activated" in out

    # Idempotent: a second run changes nothing.
    again = inst.cli("import", "sieve", root)
    assert "imported" not in again.stdout.replace("0 imported", ""), again.stdout
    assert "already active" in again.stdout
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["old", "roundcube ACTIVE"]


def test_import_one_account(inst):
    inst.add_user("carol@example.test")
    root = os.path.join(inst.dir, "pigeonhole")
    make_pigeonhole_tree(root)
    r = inst.cli("import", "sieve", root, "--user", USER)
    assert r.returncode == 0, r.stdout + r.stderr
    assert inst.cli("sieve", "list", "carol@example.test", check=True).stdout == ""
    assert inst.cli("sieve", "list", USER, check=True).stdout.splitlines() == ["old", "roundcube ACTIVE"]
    r = inst.cli("import", "sieve", os.path.join(root, "nope"))
    assert r.returncode == 1
