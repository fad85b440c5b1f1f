"""IMAP grammar edges and the LIST family through a raw TLS client (issue 11,
the defects Dovecot's imaptest found): atoms ("~foo" is not a literal8),
32-bit sequence numbers (4294967295 is not "*"), SEARCH FROM/TO/CC/BCC
over every address form, LIST-EXTENDED (RFC 5258: subscriptions of deleted
folders, RECURSIVEMATCH, several patterns, RETURN options, SPECIAL-USE),
LSUB's \\Noselect parents, APPEND of binary content as literal8."""

import re
import socket

from conftest import PASSWORD

ALICE = "alice@example.test"


class Client:
    """One IMAP session over TLS: a command, its untagged lines and its
    tagged reply, nothing hidden."""

    def __init__(self, server):
        ctx = server.server_hostname_context()
        s = socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10)
        self.s = ctx.wrap_socket(s)
        self.f = self.s.makefile("rb")
        self.n = 0
        assert self.f.readline().startswith(b"* OK")

    def line(self):
        """One response line with the literals it announces inlined."""
        out = self.f.readline()
        assert out, "connection closed"
        while True:
            m = re.search(rb"~?\{(\d+)\}\r\n$", out)
            if not m:
                return out
            out += self.f.read(int(m.group(1)))
            out += self.f.readline()

    def cmd(self, text, literal=None):
        """Sends `text` (bytes or str); with `literal`, `text` ends in its
        marker and the bytes follow the continuation. Returns (untagged, tagged)."""
        self.n += 1
        tag = b"t%d" % self.n
        data = text.encode() if isinstance(text, str) else text
        self.s.sendall(tag + b" " + data + b"\r\n")
        if literal is not None:
            cont = self.f.readline()
            assert cont.startswith(b"+"), cont
            self.s.sendall(literal + b"\r\n")
        untagged = []
        while True:
            ln = self.line()
            if ln.startswith(tag + b" "):
                return untagged, ln
            untagged.append(ln)

    def ok(self, text, literal=None):
        untagged, tagged = self.cmd(text, literal)
        assert tagged.split()[1] == b"OK", (text, tagged)
        return untagged

    def status(self, text):
        return self.cmd(text)[1].split()[1].decode()

    def append(self, folder, message):
        self.ok(f'APPEND "{folder}" {{{len(message)}}}', message)

    def close(self):
        self.s.close()


def login(server):
    c = Client(server)
    c.ok(f"LOGIN {ALICE} {PASSWORD}")
    return c


def search(c, text):
    lines = [ln for ln in c.ok(text) if ln.startswith(b"* SEARCH")]
    assert len(lines) == 1, lines
    return [int(x) for x in lines[0].split()[2:]]


def listed(lines, verb=b"LIST"):
    """{name: (attributes, extended data)} of LIST/LSUB responses."""
    out = {}
    for ln in lines:
        m = re.match(rb'\* ' + verb + rb' \(([^)]*)\) "/" "([^"]*)"(.*)\r\n$', ln)
        if m:
            out[m.group(2).decode()] = (set(m.group(1).decode().lower().split()), m.group(3).decode())
    return out


def test_atoms_follow_the_rfc_grammar(server):
    c = login(server)
    # "~foo" is an atom, not a literal8: LIST answers, SELECT says NO, the session goes on.
    c.ok('LIST "" ~foo')
    assert c.status("SELECT ~foo") == "NO"
    specials = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
    assert c.status("SELECT " + specials) == "NO"
    c.ok('LIST "" ' + specials + "%*")
    assert c.status("SELECT x]") == "NO"  # "]" is an ASTRING-CHAR
    c.ok("CREATE ~a]b")
    c.ok("SELECT ~a]b")
    assert listed(c.ok('LIST "" ~a]*')) == {"~a]b": ({"\\hasnochildren"}, "")}
    for bad in ("SELECT ~{3}x", "SELECT a(b", "SELECT a%", 'LIST "" a{b'):
        assert c.status(bad) == "BAD", bad
    assert c.cmd("SELECT ~{3}", b"abc")[1].split()[1] == b"BAD"  # a literal8 is not an astring
    c.ok("NOOP")
    c.close()


def test_sequence_numbers_are_32_bit(server):
    c = login(server)
    for i in range(3):
        c.append("INBOX", b"Subject: m%d\r\n\r\nbody\r\n" % i)
    c.ok("SELECT INBOX")
    uids = search(c, "UID SEARCH ALL")
    uidnext = uids[-1] + 1
    assert search(c, "UID SEARCH UID 1:4294967295") == uids
    assert search(c, f"UID SEARCH UID {uidnext}:4294967295") == []  # not {uidnext}:*
    assert search(c, f"UID SEARCH UID {uidnext}:*") == [uids[-1]]
    assert search(c, "UID SEARCH UID 4294967295") == []
    assert search(c, "SEARCH 1:4294967295") == [1, 2, 3]
    assert search(c, "SEARCH *:2") == [2, 3]
    assert c.ok("UID FETCH 4294967295 FLAGS") == []
    assert len(c.ok("UID FETCH 1:4294967295 UID")) == 3
    assert c.ok(f"UID STORE {uidnext}:4294967295 +FLAGS (\\Flagged)") == []
    c.ok("UID COPY 4294967295 INBOX")
    c.ok(f"UID EXPUNGE {uidnext}:4294967295")
    for bad in ("UID FETCH 4294967296 FLAGS", "UID FETCH 1:4294967296 FLAGS", "FETCH 0 FLAGS",
                "UID SEARCH UID 0:3", "UID STORE 99999999999999999999 +FLAGS (x)", "UID MOVE 0 INBOX"):
        assert c.status(bad) == "BAD", bad
    assert search(c, "SEARCH ALL") == [1, 2, 3]
    c.close()


# imaptest's src/tests/search-addresses.mbox
ADDRESS_MESSAGES = [
    b"From: user-from@domain.org\r\nTo: user-to@domain.org\r\nCc: user-cc@domain.org\r\n"
    b"Bcc: user-bcc@domain.org\r\n\r\nbody\r\n",
    b"From: RealFrom <user-from@domain.org>\r\nTo: RealTo <user-to@domain.org>\r\n"
    b"Cc: RealCc <user-cc@domain.org>\r\nBcc: RealBcc <user-bcc@domain.org>\r\n\r\nbody2\r\n",
    b"From: <user-from (comment)@ (comment) domain.org>\r\nTo: <user-to@domain.org>\r\n"
    b"Cc: <user-cc@domain.org>\r\nBcc: <user-bcc@domain.org>\r\n\r\nbody3\r\n",
    b"From: user-from@domain.org (RealFrom)\r\nTo: user-to@domain.org (RealTo)\r\n"
    b"Cc: user-cc@domain.org (RealCc)\r\nBcc: user-bcc@domain.org (RealBcc)\r\n\r\nbody4\r\n",
    b"From: user-from1@domain.org, user-from2@domain.org\r\nCc: user-cc@domain.org\r\n\r\nbody5\r\n",
    b"From: RealFrom <user-from@domain.org>\r\nTo: groupname: groupuser1@domain.org, "
    b"groupuser2@domain.org;,\r\n  groupname2: groupuser3@domain.org;\r\n\r\nbody6\r\n",
    b"From: RealFrom <user-from@domain.org>\r\nTo: groupname:;\r\n\r\nbody7\r\n",
    b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <\"j m\"@example.net>\r\n"
    b"To: Ann <@relay.example:ann@example.org>\r\n\r\nbody8\r\n",
]


def test_address_search_matches_every_form(server):
    c = login(server)
    for m in ADDRESS_MESSAGES:
        c.append("INBOX", m)
    c.ok("SELECT INBOX")
    expected = {
        "FROM user-from@domain.org": [1, 2, 3, 4, 6, 7],
        "TO user-to@domain.org": [1, 2, 3, 4],
        "CC user-cc@domain.org": [1, 2, 3, 4, 5],
        "BCC user-bcc@domain.org": [1, 2, 3, 4],
        "FROM realfrom": [2, 4, 6, 7],
        "TO realto": [2, 4],
        "FROM ser-fro": [1, 2, 3, 4, 5, 6, 7],
        "BCC ealbc": [2, 4],
        "FROM user-from2": [5],
        "TO groupname": [6, 7],
        "TO groupname2": [6],
        "TO groupuser3": [6],
        "TO groupuser4": [],
        "FROM comment": [],  # comments are not part of the address
        'FROM "j m@example.net"': [8],
        "FROM müller": [8],
        "TO @relay.example:ann": [8],
        'HEADER FROM ""': [1, 2, 3, 4, 5, 6, 7, 8],
    }
    for key, want in expected.items():
        if key == "FROM müller":
            got = search(c, "SEARCH CHARSET UTF-8 FROM {7+}\r\nm\xc3\xbcller".encode("latin-1"))
        else:
            got = search(c, "SEARCH " + key)
        assert got == want, key
    c.close()


def make_tree(c, root, names):
    for n in names:
        c.ok(f"CREATE {root}/{n}")


def test_list_extended_subscriptions_and_recursive_match(server):
    c = login(server)
    make_tree(c, "m", ["t1", "t2/t1", "t3", "t4/t5", "t4/t52", "t6", "t7/t7", "t8/t8", "t8/t9"])
    for n in ["t1", "t2/t1", "t6", "t7/t7", "t8/t8", "t8/t9"]:
        c.ok(f"SUBSCRIBE m/{n}")
    c.ok("DELETE m/t6")
    assert c.status("SUBSCRIBE m/nope") == "NO"

    # A subscription outlives its folder: \NonExistent, never \Noselect (RFC 5258 3.1).
    got = listed(c.ok('LIST (SUBSCRIBED) "" m/*'))
    assert sorted(got) == ["m/t1", "m/t2/t1", "m/t6", "m/t7/t7", "m/t8/t8", "m/t8/t9"]
    assert "\\subscribed" in got["m/t1"][0] and "\\nonexistent" in got["m/t6"][0]
    assert "\\noselect" not in got["m/t6"][0]
    assert "m/t6" not in listed(c.ok('LIST "" m/*'))

    # Several patterns, each name once.
    got = listed(c.ok('LIST "" (m/*2 m/t3 m/t3)'))
    assert sorted(got) == ["m/t2", "m/t3", "m/t4/t52"]

    # RECURSIVEMATCH: parents of subscribed children the pattern does not reach.
    got = listed(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" m/t2% RETURN (CHILDREN)'))
    assert got == {"m/t2": ({"\\haschildren"}, ' ("CHILDINFO" ("SUBSCRIBED"))')}
    got = listed(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" m*t8'))
    assert got["m/t8"][1] == ' ("CHILDINFO" ("SUBSCRIBED"))' and "\\subscribed" not in got["m/t8"][0]
    assert sorted(got) == ["m/t8", "m/t8/t8"]
    assert sorted(listed(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" m*t7'))) == ["m/t7/t7"]
    got = listed(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" (m/t2 m/t2/t1)'))
    assert got == {"m/t2/t1": ({"\\hasnochildren", "\\subscribed"}, "")}

    # RETURN (CHILDREN SUBSCRIBED) without the selection.
    got = listed(c.ok('LIST "" m/% RETURN (CHILDREN SUBSCRIBED)'))
    assert got["m/t1"][0] == {"\\hasnochildren", "\\subscribed"}
    assert got["m/t2"][0] == {"\\haschildren"} and got["m/t3"][0] == {"\\hasnochildren"}

    # REMOTE is accepted (there are no remote folders); bad options are BAD.
    assert sorted(listed(c.ok('LIST (REMOTE) "" m/t4/%'))) == ["m/t4/t5", "m/t4/t52"]
    for bad in ['LIST (imaptest) "" ""', 'LIST (RECURSIVEMATCH) "" ""', 'LIST (RECURSIVEMATCH REMOTE) "" ""',
                'LIST "" "" RETURN (imaptest)', 'LIST "" ()']:
        assert c.status(bad) == "BAD", bad

    # The unsubscribed deleted folder disappears.
    c.ok("UNSUBSCRIBE m/t6")
    assert "m/t6" not in listed(c.ok('LIST (SUBSCRIBED) "" m/*'))
    c.close()


def test_list_special_use_and_status(server):
    c = login(server)
    c.ok("CREATE a/b")
    c.ok("CREATE a/Archive (USE (\\Archive))")
    c.append("a/b", b"Subject: x\r\n\r\nx\r\n")
    got = listed(c.ok('LIST (SPECIAL-USE) "" *'))
    assert {n for n in got} >= {"Sent", "Trash", "a/Archive"} and "a/b" not in got and "INBOX" not in got
    assert "\\archive" in got["a/Archive"][0]
    got = listed(c.ok('LIST (SPECIAL-USE RECURSIVEMATCH) "" %'))
    assert got["a"][1] == ' ("CHILDINFO" ("SPECIAL-USE"))'
    got = listed(c.ok('LIST "" * RETURN (SPECIAL-USE)'))
    assert "\\sent" in got["Sent"][0] and "a/b" in got
    lines = c.ok('LIST "" a/% RETURN (STATUS (MESSAGES UIDNEXT))')
    assert b'* STATUS "a/b" (MESSAGES 1 UIDNEXT 2)\r\n' in lines
    c.ok("DELETE a/b")
    c.ok("DELETE a/Archive")
    c.ok("DELETE a")
    c.ok("CREATE p/q")
    c.ok("DELETE p")  # the parent goes, its child stays: listed for it
    assert listed(c.ok('LIST "" %'))["p"][0] == {"\\noselect", "\\haschildren"}
    assert listed(c.ok('LIST () "" %'))["p"][0] == {"\\nonexistent", "\\haschildren"}
    assert c.ok('LIST "" ""') == [b'* LIST (\\Noselect) "/" ""\r\n']
    c.close()


def test_lsub_noselect_parents_and_deleted_subscriptions(server):
    c = login(server)
    make_tree(c, "m", ["test", "test2/test", "test3/test3"])
    for n in ["test", "test2/test", "test3/test3"]:
        c.ok(f"SUBSCRIBE m/{n}")
    got = listed(c.ok('LSUB "" m/%'), b"LSUB")
    assert got == {"m/test": (set(), ""), "m/test2": ({"\\noselect"}, ""), "m/test3": ({"\\noselect"}, "")}
    got = listed(c.ok('LSUB "" *test'), b"LSUB")
    assert "m/test" in got and "m/test2/test" in got and "m/test3/test3" not in got
    c.ok("DELETE m/test3/test3")
    got = listed(c.ok('LSUB "" m/*'), b"LSUB")
    assert got["m/test3/test3"][0] == {"\\noselect"}  # still subscribed, gone
    c.ok("UNSUBSCRIBE m/test3/test3")
    c.ok("UNSUBSCRIBE m/test2/test")
    assert listed(c.ok('LSUB "" m/%'), b"LSUB") == {"m/test": (set(), "")}
    # Subscriptions follow RENAME.
    c.ok("RENAME m/test m/renamed")
    assert listed(c.ok('LSUB "" m/%'), b"LSUB") == {"m/renamed": (set(), "")}
    c.close()


def test_append_literal8_binary_part(server):
    c = login(server)
    body = b"\x00-\xe4\n\r\n\n"
    message = (b"From: user@domain.org\r\nDate: Sat, 24 Mar 2007 23:00:00 +0200\r\nMime-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + body)
    c.ok(b"APPEND INBOX ~{%d}" % len(message), message)
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH 1 (BODY.PEEK[1])")
    assert b"\x00" not in lines[0] and b"~{" not in lines[0]
    assert re.match(rb"\* 1 FETCH \(BODY\[1\] (\{\d+\}\r\n)?\"?AC3kCg0KCg==", lines[0]), lines
    lines = c.ok("FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    assert lines == [b"* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] ~{7}\r\n" + body + b")\r\n"]
    # A literal8 anywhere else is not a string.
    assert c.cmd(b"SELECT ~{5}", b"INBOX")[1].split()[1] == b"BAD"
    c.close()
