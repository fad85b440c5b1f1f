"""The DKIM corpus of the Perl Mail::DKIM project through `mailfort auth dkim`.

tests/data/mail-dkim holds its messages and the fake DNS data its
t/verifier.t uses (README there: source, commit, licence). Every message
that verifier.t expects a definite result for is verified here and must
come out the same, Mail::DKIM's "invalid" being our permerror/temperror,
except the cases in DIFFERENT, each with the reason (RFC 8301 and the
DomainKeys messages, which are not DKIM).
"""
import os

import pytest

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "mail-dkim")

# t/verifier.t: file -> the result Mail::DKIM expects (its test_email calls;
# the SKIPped ones, good_ietf00_* pre-standard signatures and bad_dk_3, left out).
MAIL_DKIM = {
    "mine_ietf01_1.txt": "pass", "mine_ietf01_2.txt": "pass", "mine_ietf01_3.txt": "pass",
    "mine_ietf01_4.txt": "pass", "mine_ietf05_1.txt": "pass", "good_ietf01_1.txt": "pass",
    "good_ietf01_2.txt": "pass", "good_rfc4871_3.txt": "pass", "good_rfc4871_4.txt": "pass",
    "good_1878523.txt": "pass", "good_83176.txt": "pass", "multiple_1.txt": "pass", "multiple_2.txt": "pass",
    "good_qp_1.txt": "pass", "good_qp_2.txt": "pass", "good_qp_3.txt": "pass",
    "bad_ietf01_1.txt": "fail", "bad_ietf01_2.txt": "fail", "bad_ietf01_3.txt": "fail", "bad_1.txt": "fail",
    "bad_1878954.txt": "fail",
    "good_dk_gmail.txt": "pass", "good_dk_yahoo.txt": "pass", "good_dk_1.txt": "pass", "good_dk_2.txt": "pass",
    "good_dk_3.txt": "pass", "good_dk_4.txt": "pass", "good_dk_5.txt": "pass", "good_dk_6.txt": "pass",
    "good_dk_7.txt": "pass", "dk_headers_1.txt": "pass", "dk_headers_2.txt": "pass",
    "bad_dk_1.txt": "invalid", "bad_dk_2.txt": "invalid", "bad_dk_4.txt": "invalid", "bad_dk_5.txt": "invalid",
    "dk_multiple_1.txt": "pass",
    "no_body_1.txt": "pass", "no_body_2.txt": "pass", "no_body_3.txt": "pass",
    "ignore_1.txt": "invalid", "ignore_2.txt": "invalid", "ignore_3.txt": "invalid", "ignore_4.txt": "invalid",
    "ignore_5.txt": "invalid", "ignore_6.txt": "invalid", "ignore_7.txt": "invalid", "ignore_8.txt": "invalid",
    "goodkey_1.txt": "pass", "goodkey_2.txt": "pass", "goodkey_3.txt": "pass", "goodkey_4.txt": "pass",
    "badkey_1.txt": "invalid", "badkey_2.txt": "invalid", "badkey_3.txt": "invalid", "badkey_4.txt": "invalid",
    "badkey_5.txt": "invalid", "badkey_6.txt": "invalid", "badkey_7.txt": "invalid", "badkey_8.txt": "invalid",
    "badkey_9.txt": "invalid", "badkey_10.txt": "invalid", "badkey_11.txt": "invalid",
    "badkey_12.txt": "invalid", "badkey_13.txt": "invalid", "badkey_14.txt": "invalid",
    "badkey_15.txt": "invalid",
    "goodkey_ed25519.txt": "pass", "badkey1_ed25519.txt": "invalid", "badkey2_ed25519.txt": "fail",
    "badkey3_ed25519.txt": "fail", "badkey4_ed25519.txt": "invalid", "badkey5_ed25519.txt": "invalid",
}

# Where we differ on purpose: file -> (our result, a reason every one of
# our result lines must carry). Four groups:
SHA1 = "rsa-sha1 is not accepted (RFC 8301)"
PRE_RFC = "bad signature: missing v= tag"
DIFFERENT = {
    # RFC 8301 3.1: rsa-sha1 signatures fail. We name that reason only after
    # the key, the header signature and the body hash all verified, so these
    # agree with Mail::DKIM's pass in everything but the RFC 8301 rule (their
    # keys are also 512-bit, which RFC 8301 3.2 fails too).
    "good_rfc4871_3.txt": ("fail", SHA1), "good_rfc4871_4.txt": ("fail", SHA1),
    "good_1878523.txt": ("fail", SHA1), "good_83176.txt": ("fail", SHA1),
    "good_qp_1.txt": ("fail", SHA1), "good_qp_2.txt": ("fail", SHA1), "good_qp_3.txt": ("fail", SHA1),
    "goodkey_1.txt": ("fail", SHA1), "goodkey_2.txt": ("fail", SHA1), "goodkey_3.txt": ("fail", SHA1),
    "goodkey_4.txt": ("fail", SHA1),
    # The key's g= tag (RFC 4871) is gone from RFC 6376 and so ignored as an
    # unknown tag (3.6.1): the signatures verify, then fail as rsa-sha1.
    "badkey_8.txt": ("fail", SHA1), "badkey_9.txt": ("fail", SHA1), "badkey_12.txt": ("fail", SHA1),
    "badkey_13.txt": ("fail", SHA1),
    # Pre-standard drafts (ietf-01 without v=, ietf-05 with v=0.5): RFC 6376
    # 3.5 makes v=1 required, so these are permerror here.
    "mine_ietf01_1.txt": ("invalid", PRE_RFC), "mine_ietf01_2.txt": ("invalid", PRE_RFC),
    "mine_ietf01_3.txt": ("invalid", PRE_RFC), "mine_ietf01_4.txt": ("invalid", PRE_RFC),
    "good_ietf01_1.txt": ("invalid", PRE_RFC), "good_ietf01_2.txt": ("invalid", PRE_RFC),
    "multiple_1.txt": ("invalid", PRE_RFC), "bad_ietf01_1.txt": ("invalid", PRE_RFC),
    "bad_ietf01_2.txt": ("invalid", PRE_RFC), "bad_ietf01_3.txt": ("invalid", PRE_RFC),
    "bad_1.txt": ("invalid", PRE_RFC),
    "mine_ietf05_1.txt": ("invalid", "unsupported version"), "no_body_1.txt": ("invalid", "unsupported version"),
    "no_body_2.txt": ("invalid", "unsupported version"), "no_body_3.txt": ("invalid", "unsupported version"),
    # Mail::DKIM's best is the rsa-sha1 pass (each line in PER_SIGNATURE).
    "multiple_2.txt": ("fail", ""),
    # DomainKeys (RFC 4870, historic): a DomainKey-Signature is not DKIM.
    **{name: ("none", "none") for name in [
        "good_dk_gmail.txt", "good_dk_yahoo.txt", "good_dk_1.txt", "good_dk_2.txt", "good_dk_3.txt",
        "good_dk_4.txt", "good_dk_5.txt", "good_dk_6.txt", "good_dk_7.txt", "dk_headers_1.txt",
        "dk_headers_2.txt", "bad_dk_1.txt", "bad_dk_2.txt", "bad_dk_4.txt", "bad_dk_5.txt", "dk_multiple_1.txt"]},
}

# Messages where each signature's line is checked, not only the best result.
PER_SIGNATURE = {
    # Mail::DKIM: invalid (c=foobar), pass, fail (altered b=); the fourth
    # field ("synerr") it does not list. Our second is its pass, failed as rsa-sha1.
    "multiple_2.txt": ["permerror d=messiah.edu s=selector1 a=rsa-sha1 (bad signature: unknown canonicalization)",
                       "fail d=messiah.edu s=selector1 a=rsa-sha1 (" + SHA1 + ")",
                       "fail d=messiah.edu s=selector1 a=rsa-sha1 (signature did not verify)",
                       "permerror (bad signature: tag without '=')"],
    "badkey_14.txt": ["temperror d=blackhole.messiah.edu s=test3 a=rsa-sha1 (key lookup failed (servfail))"],
    "badkey_15.txt": ["temperror d=blackhole2.messiah.edu s=test3 a=rsa-sha1 (key lookup failed (servfail))"],
    # Mail::DKIM: invalid for the revoked key; ours is invalid already for
    # its pre-standard v=0.5 (the same result, an earlier reason).
    "badkey_2.txt": ["permerror d=messiah.edu s=testrevoked a=rsa-sha1 (bad signature: unsupported version)"],
}


def load_fake_dns(dns):
    """t/FAKE_DNS.dat: `name value`, NXDOMAIN, ~~Query timed out~~, ~~SERVFAIL~~."""
    for line in open(os.path.join(DATA, "FAKE_DNS.dat")):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        name, value = line.split(None, 1)
        if value == "NXDOMAIN":
            continue  # unknown names are NXDOMAIN in the fake DNS
        if value == "~~Query timed out~~":
            dns.timeout(name)
        elif value == "~~SERVFAIL~~":
            dns.servfail(name)
        else:
            if value == '""':
                value = ""
            value = value.replace("\\", "\\\\").replace('"', '\\"')
            dns.add(name, "TXT", " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255)) or '""')


def overall(lines):
    """Mail::DKIM's result(): the best signature's (pass > fail > invalid), none when unsigned."""
    words = [l.split()[0] for l in lines]
    if words == ["none"]:
        return "none"
    for best in ("pass", "fail"):
        if best in words:
            return best
    return "invalid"


def test_mail_dkim_corpus(instance, dns, capsys):
    load_fake_dns(dns)
    agree, outcomes = 0, []
    for name, expected in MAIL_DKIM.items():
        r = instance.cli("auth", "dkim", os.path.join(DATA, "corpus", name))
        assert r.returncode == 0, r.stderr
        lines = r.stdout.strip().split("\n")
        got = overall(lines)
        want, reason = DIFFERENT.get(name, (expected, ""))
        ok = got == want and all(reason in line for line in lines)
        if name in PER_SIGNATURE:
            ok = ok and lines == PER_SIGNATURE[name]
        outcomes.append((name, expected, got, want, lines, ok))
        print(f"{name}: Mail::DKIM {expected}; {lines}")
        agree += got == expected
    with capsys.disabled():
        print(f"\nMail::DKIM corpus: {len(MAIL_DKIM)} cases, {agree} agree with Mail::DKIM, "
              f"{len(DIFFERENT)} differ on purpose")
        for name, expected, got, want, lines, ok in outcomes:
            if not ok:
                print(f"  MISMATCH {name}: Mail::DKIM {expected}, expected here {want}, got {got}: {lines}")
    assert [o[0] for o in outcomes if not o[5]] == []
    assert agree + len(DIFFERENT) == len(MAIL_DKIM)


# These signatures are pre-standard v=0.5, which is why they are permerror
# here (and agree with Mail::DKIM's invalid) before their intended fault is
# reached. With v=1 written in (the header signature no longer matches, but
# every check below comes before it) each must be refused for the reason
# t/verifier.t names.
INTENDED = {
    "badkey_1.txt": "permerror d=messiah.edu s=nonexistent a=rsa-sha1 (no key)",  # NXDOMAIN
    "badkey_2.txt": "permerror d=messiah.edu s=testrevoked a=rsa-sha1 (key revoked) (testing)",
    "badkey_3.txt": "permerror d=messiah.edu s=testbad1 a=rsa-sha1 (bad key record: unsupported key record version)",
    "badkey_4.txt": "permerror d=messiah.edu s=testbad2 a=rsa-sha1 (bad key record: tag without '=')",
    "badkey_5.txt": "permerror d=messiah.edu s=testbad3 a=rsa-sha1 (bad key record: unknown key type)",
    "badkey_6.txt": "permerror d=messiah.edu s=testbad4 a=rsa-sha1 (key not for email (s=))",
    "badkey_7.txt": "permerror d=messiah.edu s=testbad7 a=rsa-sha1 (key h= does not allow the hash)",
    "ignore_2.txt": "permerror d=messiah.edu s=selector1 a=rsa-md5 (bad signature: unsupported algorithm)",
    "ignore_3.txt": "permerror d=messiah.edu s=selector1 a=dsa-sha1 (bad signature: unsupported algorithm)",
    "ignore_4.txt": "permerror d=messiah.edu s=selector1 a=rsa-sha1 (bad signature: unknown canonicalization)",
}


def test_mail_dkim_corpus_intended_faults_with_v1(instance, dns, tmp_path):
    load_fake_dns(dns)
    for name, line in INTENDED.items():
        text = open(os.path.join(DATA, "corpus", name), "rb").read()
        assert b"v=0.5;" in text, name
        path = tmp_path / name
        path.write_bytes(text.replace(b"v=0.5;", b"v=1;", 1))
        r = instance.cli("auth", "dkim", str(path))
        assert r.stdout.strip() == line, name
