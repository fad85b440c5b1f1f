"""SORT, THREAD (RFC 5256, SORT=DISPLAY RFC 5957), ESORT, PARTIAL and
SEARCH/SORT contexts with UPDATE (RFC 5267) through a real client
(imaplib over TLS, raw command lines where imaplib has no helper)."""

import imaplib

from conftest import PASSWORD

ALICE = "alice@example.test"


def login(server):
    m = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=server.server_hostname_context())
    m.login(ALICE, PASSWORD)
    return m


def raw(m, line):
    """Sends one command; returns (tagged line, untagged lines)."""
    tag = m._new_tag().decode()
    m.send(f"{tag} {line}\r\n".encode())
    out = []
    while True:
        got = m.readline().decode().rstrip("\r\n")
        if got.startswith(tag + " "):
            return got[len(tag) + 1:], out
        out.append(got)


def message(subject=None, frm=None, to=None, cc=None, date=None, msgid=None, refs=None, irt=None, body="x"):
    h = []
    for name, v in (("From", frm), ("To", to), ("Cc", cc), ("Subject", subject), ("Date", date),
                    ("Message-ID", msgid), ("References", refs), ("In-Reply-To", irt)):
        if v is not None:
            h.append(f"{name}: {v}")
    return ("\r\n".join(h) + "\r\n\r\n" + body + "\r\n").encode()


def fill(m, folder, messages):
    m.create(folder)
    for i, (msg, internal) in enumerate(messages):
        typ, _ = m.append(folder, None, f'"{internal}"', msg)
        assert typ == "OK"
    typ, _ = m.select(folder)
    assert typ == "OK"


def sort(m, criteria, uid=False, charset="UTF-8", search="ALL"):
    status, lines = raw(m, f"{'UID ' if uid else ''}SORT ({criteria}) {charset} {search}")
    assert status.startswith("OK"), status
    (line,) = [x for x in lines if x.startswith("* SORT")]
    return [int(x) for x in line.split()[2:]]


def test_sort_by_every_key(server):
    m = login(server)
    assert b"SORT=DISPLAY" in m.capability()[1][0] and b"THREAD=REFERENCES" in m.capability()[1][0]
    fill(m, "S", [
        (message("Re: banana", "Zed <b@x.test>", "c@x.test", "a@x.test", "Fri, 22 Feb 2008 10:00:00 +0000",
                 body="x" * 300), "22-Feb-2008 09:00:00 +0000"),
        (message("=?utf-8?q?Apple?=", "a@x.test", "Bob <z@x.test>", "c@x.test", "Fri, 22 Feb 2008 12:00:00 +0200",
                 body="x" * 100), "22-Feb-2008 08:00:00 +0000"),
        (message("[list] Fwd: cherry (fwd)", "=?utf-8?q?Anna?= <c@x.test>", "grp: q@x.test;", "b@x.test",
                 body="x" * 200), "22-Feb-2008 07:00:00 +0000"),
    ])
    assert sort(m, "ARRIVAL") == [3, 2, 1]
    assert sort(m, "REVERSE ARRIVAL") == [1, 2, 3]
    # No Date: header: the internal date stands in (07:00); 12:00+0200 is 10:00Z, ties go by number.
    assert sort(m, "DATE") == [3, 1, 2]
    assert sort(m, "SIZE") == [2, 3, 1]
    assert sort(m, "SUBJECT") == [2, 1, 3]
    assert sort(m, "REVERSE SUBJECT") == [3, 1, 2]
    assert sort(m, "FROM") == [2, 1, 3]
    assert sort(m, "TO") == [1, 3, 2]  # a group counts by its name
    assert sort(m, "CC") == [1, 3, 2]
    assert sort(m, "DISPLAYFROM") == [2, 3, 1]  # "A@X.TEST" < "ANNA" (decoded) < "ZED"
    assert sort(m, "DISPLAYTO") == [2, 1, 3]
    assert sort(m, "SIZE", search="NOT 2") == [3, 1]
    _, data = m.fetch("1:3", "(UID)")
    uids = [int(x.split()[2].rstrip(b")")) for x in data]
    assert sort(m, "SIZE", uid=True) == [uids[1], uids[2], uids[0]]
    status, _ = raw(m, "SORT (DATE) ISO-8859-1 ALL")
    assert status.startswith("NO [BADCHARSET"), status
    status, _ = raw(m, "SORT (BOGUS) UTF-8 ALL")
    assert status.startswith("BAD"), status
    m.logout()


def thread(m, algorithm, uid=False):
    status, lines = raw(m, f"{'UID ' if uid else ''}THREAD {algorithm} US-ASCII ALL")
    assert status.startswith("OK"), status
    (line,) = [x for x in lines if x.startswith("* THREAD")]
    return line[len("* THREAD"):].strip()


def test_thread_references_and_orderedsubject(server):
    m = login(server)
    fill(m, "T", [
        (message("hello", msgid="<1@t>", date="Fri, 22 Feb 2008 10:00:00 +0000"), "22-Feb-2008 10:00:00 +0000"),
        (message("Re: hello", msgid="<2@t>", refs="<1@t>", date="Fri, 22 Feb 2008 11:00:00 +0000"),
         "22-Feb-2008 11:00:00 +0000"),
        (message("other", msgid="<3@t>", date="Fri, 22 Feb 2008 09:00:00 +0000"), "22-Feb-2008 09:00:00 +0000"),
        (message("Re: hello", msgid="<4@t>", irt="<2@t>", date="Fri, 22 Feb 2008 12:00:00 +0000"),
         "22-Feb-2008 12:00:00 +0000"),
        (message("Re: hello", msgid="<5@t>", refs="<1@t>", date="Fri, 22 Feb 2008 13:00:00 +0000"),
         "22-Feb-2008 13:00:00 +0000"),
        # Its parent is missing (a dummy), its subject joins the "hello" thread.
        (message("Re: hello", msgid="<6@t>", refs="<gone@t>", date="Fri, 22 Feb 2008 14:00:00 +0000"),
         "22-Feb-2008 14:00:00 +0000"),
    ])
    assert thread(m, "REFERENCES") == "(3)(1 (2 4)(5)(6))"
    assert thread(m, "ORDEREDSUBJECT") == "(3)(1 (2)(4)(5)(6))"
    _, data = m.fetch("1:6", "(UID)")
    u = [x.split()[2].rstrip(b")").decode() for x in data]
    assert thread(m, "REFERENCES", uid=True) == f"({u[2]})({u[0]} ({u[1]} {u[3]})({u[4]})({u[5]}))"
    status, _ = raw(m, "THREAD NOSUCH US-ASCII ALL")
    assert status.startswith("BAD"), status
    status, _ = raw(m, "THREAD REFERENCES KOI8-R ALL")
    assert status.startswith("NO [BADCHARSET"), status
    m.logout()


def esearch(lines):
    (line,) = [x for x in lines if x.startswith("* ESEARCH")]
    return line


def test_esort_and_partial(server):
    m = login(server)
    fill(m, "E", [(message(f"m{i}", body="y" * (10 * (6 - i))), f"2{i}-Feb-2008 10:00:00 +0000")
                  for i in range(1, 6)])
    status, lines = raw(m, "SORT RETURN (MIN MAX COUNT ALL) (SIZE) US-ASCII ALL")
    assert status.startswith("OK")
    line = esearch(lines)
    assert line.startswith("* ESEARCH (TAG ")
    assert line.endswith("MIN 5 MAX 1 COUNT 5 ALL 5,4,3,2,1")
    _, lines = raw(m, "SORT RETURN (PARTIAL 2:4) (REVERSE ARRIVAL) US-ASCII ALL")
    assert esearch(lines).endswith("PARTIAL (2:4 4,3,2)")
    _, lines = raw(m, "SORT RETURN (PARTIAL 4:9) (ARRIVAL) US-ASCII ALL")
    assert esearch(lines).endswith("PARTIAL (4:9 4:5)")
    _, lines = raw(m, "SEARCH RETURN (PARTIAL 2:3) 1:2,4:5")
    assert esearch(lines).endswith("PARTIAL (2:3 2,4)")
    _, lines = raw(m, "SEARCH RETURN (PARTIAL 9:10) ALL")
    assert esearch(lines).endswith("PARTIAL (9:10 NIL)")
    for bad in ("PARTIAL 1", "PARTIAL 1:*", "PARTIAL 0:3"):
        status, _ = raw(m, f"SEARCH RETURN ({bad}) ALL")
        assert status.startswith("BAD"), (bad, status)
    m.logout()


def test_update_contexts_follow_other_sessions(server):
    a = login(server)
    fill(a, "U", [(message(f"s{i}"), f"1{i}-Feb-2008 10:00:00 +0000") for i in range(1, 6)])
    b = login(server)
    b.select("U")
    a.store("1", "+FLAGS", "\\Seen")
    status, lines = raw(a, "SEARCH RETURN (UPDATE ALL) SEEN")
    assert status.startswith("OK")
    tag = esearch(lines).split('"')[1]
    assert esearch(lines).endswith("ALL 1")
    _, lines = raw(a, "UID SORT RETURN (UPDATE) (REVERSE ARRIVAL) US-ASCII UNSEEN")
    stag = esearch(lines).split('"')[1]
    _, data = a.fetch("1:5", "(UID)")
    uid = [int(x.split()[2].rstrip(b")")) for x in data]
    # Another session's changes arrive at the next command.
    b.store("2,4", "+FLAGS", "\\Seen")
    _, lines = raw(a, "NOOP")
    assert f'* ESEARCH (TAG "{tag}") ADDTO (0 2,4)' in lines, lines
    # The SORT context (5 4 3 2) loses 4 at position 2, then 2 at position 3 (of 5 3 2).
    assert f'* ESEARCH (TAG "{stag}") UID REMOVEFROM (2 {uid[3]})' in lines, lines
    assert f'* ESEARCH (TAG "{stag}") UID REMOVEFROM (3 {uid[1]})' in lines, lines
    b.store("1", "-FLAGS", "\\Seen")
    _, lines = raw(a, "NOOP")
    assert f'* ESEARCH (TAG "{tag}") REMOVEFROM (0 1)' in lines, lines
    assert f'* ESEARCH (TAG "{stag}") UID ADDTO (3 {uid[0]})' in lines, lines  # 5 3 1
    # An expunge is removed from the result before its EXPUNGE.
    b.store("4", "+FLAGS", "\\Deleted")
    b.expunge()
    _, lines = raw(a, "NOOP")
    i = lines.index(f'* ESEARCH (TAG "{tag}") REMOVEFROM (0 4)')
    assert lines[i + 1] == "* 4 EXPUNGE", lines
    # New mail that matches.
    b.append("U", "(\\Seen)", None, message("new"))
    _, lines = raw(a, "NOOP")
    assert "* 5 EXISTS" in lines and f'* ESEARCH (TAG "{tag}") ADDTO (0 5)' in lines, lines
    status, _ = raw(a, f'CANCELUPDATE "{tag}"')
    assert status.startswith("OK")
    b.store("1", "+FLAGS", "\\Seen")
    _, lines = raw(a, "NOOP")
    assert not any(f'"{tag}"' in x for x in lines), lines
    status, _ = raw(a, f'CANCELUPDATE "{tag}"')
    assert status.startswith("NO")
    # PARTIAL results are not kept updated; too many contexts are refused.
    _, lines = raw(a, "SEARCH RETURN (UPDATE PARTIAL 1:2) ALL")
    assert any(x.startswith("* NO [NOUPDATE ") for x in lines), lines
    refused = 0
    for _ in range(12):
        _, lines = raw(a, "SEARCH RETURN (UPDATE) ALL")
        refused += any(x.startswith("* NO [NOUPDATE ") for x in lines)
    assert refused == 3  # the SORT context and ten in all
    a.logout()
    b.logout()


def test_empty_folder_and_hostile_arguments(server):
    m = login(server)
    m.create("Empty")
    m.select("Empty")
    status, lines = raw(m, "SORT (DATE) UTF-8 ALL")
    assert status.startswith("OK") and lines == ["* SORT"], lines
    status, lines = raw(m, "THREAD REFERENCES UTF-8 ALL")
    assert status.startswith("OK") and lines == ["* THREAD"], lines
    status, lines = raw(m, "SORT RETURN (MIN MAX COUNT ALL PARTIAL 1:5) (DATE) UTF-8 ALL")
    assert status.startswith("OK") and esearch(lines).endswith(" COUNT 0 PARTIAL (1:5 NIL)"), lines
    status, _ = raw(m, "SORT (" + " ".join(["DATE"] * 40) + ") UTF-8 ALL")
    assert status.startswith("BAD"), status
    status, _ = raw(m, "SORT (DATE) UTF-8 " + "(" * 100 + "ALL" + ")" * 100)
    assert status.startswith("BAD"), status
    m.logout()
