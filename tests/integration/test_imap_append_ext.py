"""APPEND's extensions and IMAP URLs through a raw client: MULTIAPPEND (RFC
3502, all or nothing), CATENATE (RFC 4469) with URLs of the user's own
messages, and URLAUTH (RFC 4467): GENURLAUTH, URLFETCH by another user,
RESETKEY, bad URLs."""

import re
import socket

from conftest import PASSWORD

ALICE = "alice@example.test"
BOB = "bob@example.test"

M1 = b"From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n"
M2 = b"From: b@example.org\r\nSubject: two\r\n\r\nbody two\r\n"


class Client:
    """A raw IMAPS client: sends commands with literals, reads responses
    with their literals inline."""

    def __init__(self, server, user=ALICE):
        ctx = server.server_hostname_context()
        s = socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10)
        self.s = ctx.wrap_socket(s)
        self.f = self.s.makefile("rb")
        assert self.f.readline().startswith(b"* OK")
        self.n = 0
        tagged, _ = self.cmd(b"LOGIN " + user.encode() + b" " + PASSWORD.encode())
        assert tagged.split()[1] == b"OK", tagged

    def line(self):
        """One response line with any literals it carries inline."""
        out = self.f.readline()
        assert out, "connection closed"
        while True:
            m = re.search(rb"\{(\d+)\}\r\n$", out)
            if not m:
                return out
            out += self.f.read(int(m.group(1)))
            out += self.f.readline()

    def cmd(self, *parts):
        """Sends a command (bytes; a part that is a tuple ("lit", data) is
        sent as a synchronising literal) and returns (tagged, untagged)."""
        self.n += 1
        tag = b"t%d" % self.n
        pending = tag + b" "
        for p in parts:
            if isinstance(p, tuple):
                self.s.sendall(pending + b"{%d}\r\n" % len(p[1]))
                cont = self.line()
                if not cont.startswith(b"+"):
                    return cont, []
                pending = p[1]
            else:
                pending += p
        self.s.sendall(pending + b"\r\n")
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                return line, untagged
            untagged.append(line)

    def close(self):
        self.s.close()


def messages(c, mailbox=b"INBOX"):
    tagged, untagged = c.cmd(b"STATUS " + mailbox + b" (MESSAGES UIDNEXT UIDVALIDITY)")
    assert b" OK " in tagged, tagged
    m = re.search(rb"MESSAGES (\d+)", untagged[0])
    return int(m.group(1))


def bodies(c, mailbox=b"INBOX"):
    tagged, _ = c.cmd(b"SELECT " + mailbox)
    assert b" OK " in tagged
    tagged, untagged = c.cmd(b"FETCH 1:* BODY.PEEK[]")
    assert b" OK " in tagged
    out = []
    for line in untagged:
        m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
        if m:
            start = m.end()
            out.append(line[start:start + int(m.group(1))])
    return out


def test_multiappend_stores_every_message_with_one_appenduid(server):
    c = Client(server)
    assert b"MULTIAPPEND" in c.cmd(b"CAPABILITY")[1][0]
    tagged, _ = c.cmd(b"APPEND INBOX (\\Seen) ", ("lit", M1), b" \"05-Mar-2024 10:00:00 +0100\" ", ("lit", M2), b"")
    m = re.match(rb"t\d+ OK \[APPENDUID (\d+) 1:2\]", tagged)
    assert m, tagged
    assert bodies(c) == [M1, M2]
    tagged, untagged = c.cmd(b"FETCH 1:2 (FLAGS INTERNALDATE)")
    assert b"\\Seen" in untagged[0] and b"\\Seen" not in untagged[1]
    assert b"05-Mar-2024 09:00:00 +0000" in untagged[1]
    c.close()


def test_multiappend_is_all_or_nothing_when_one_message_is_too_big(instance):
    instance.set("imap", "max_literal_size", "2048")
    instance.set("imap", "max_command_size", "1024")
    instance.add_user(ALICE)
    instance.start()
    c = Client(instance)
    # The second message is refused when announced: NO, nothing stored, and
    # the session goes on (the client did not send it).
    tagged, _ = c.cmd(b"APPEND INBOX ", ("lit", M1), b" ", ("lit", b"x" * 5000), b"")
    assert re.match(rb"t\d+ NO \[TOOBIG\]", tagged), tagged
    assert messages(c) == 0
    # A message within the command limit but over max_literal_size is found
    # out after it is read: still nothing stored.
    c2 = Client(instance)
    tagged, _ = c2.cmd(b"APPEND INBOX ", ("lit", M1), b" ", ("lit", b"Subject: big\r\n\r\n" + b"y" * 100), b"")
    assert b" OK " in tagged  # both fit
    assert messages(c2) == 2
    # CATENATE's result is held to the same limit.
    tagged, _ = c2.cmd(b"APPEND INBOX CATENATE (" + b" ".join([b'URL "/INBOX/;uid=1"'] * 45) + b")")
    assert re.match(rb"t\d+ NO \[TOOBIG\]", tagged), tagged
    assert messages(c2) == 2
    c.close()
    c2.close()


def test_multiappend_limit_on_the_number_of_messages(instance):
    instance.set("imap", "max_append_messages", "2")
    instance.add_user(ALICE)
    instance.start()
    c = Client(instance)
    tagged, _ = c.cmd(b"APPEND INBOX ", ("lit", M1), b" ", ("lit", M1), b" ", ("lit", M2), b"")
    assert re.match(rb"t\d+ NO \[LIMIT\]", tagged), tagged
    assert messages(c) == 0
    tagged, _ = c.cmd(b"APPEND INBOX ", ("lit", M1), b" ", ("lit", M2), b"")
    assert b" OK " in tagged
    c.close()


def test_catenate_puts_text_and_url_parts_together(server):
    c = Client(server)
    assert b"CATENATE" in c.cmd(b"CAPABILITY")[1][0]
    tagged, _ = c.cmd(b"APPEND INBOX ", ("lit", M1), b"")
    uidvalidity, uid = re.search(rb"APPENDUID (\d+) (\d+)", tagged).groups()
    tagged, _ = c.cmd(b"APPEND Drafts CATENATE (URL \"/INBOX/;uid=" + uid + b"/;section=header\" TEXT ",
                      ("lit", b"new body\r\n"), b" URL \"/INBOX;UIDVALIDITY=" + uidvalidity + b"/;uid=" + uid +
                      b"/;section=text/;partial=5.3\")")
    assert re.match(rb"t\d+ OK \[APPENDUID \d+ 1\]", tagged), tagged
    assert bodies(c, b"Drafts") == [b"From: a@example.org\r\nSubject: one\r\n\r\nnew body\r\none"]
    # With MULTIAPPEND, and relative to the selected mailbox.
    tagged, _ = c.cmd(b"APPEND Drafts CATENATE (URL \";uid=1\") (\\Flagged) ", ("lit", M2), b"")
    assert b" OK [APPENDUID" in tagged, tagged
    assert bodies(c, b"Drafts")[1:] == [b"From: a@example.org\r\nSubject: one\r\n\r\nnew body\r\none", M2]
    c.close()


def test_catenate_bad_urls_store_nothing(server):
    c = Client(server)
    c.cmd(b"APPEND INBOX ", ("lit", M1), b"")
    for url in [b"/INBOX;UIDVALIDITY=12345/;uid=1", b"/INBOX/;uid=99", b"/Nope/;uid=1",
                b"/INBOX/;uid=1/;section=7", b"imap://bob@example.test/INBOX/;uid=1", b"http://x/"]:
        tagged, _ = c.cmd(b"APPEND Drafts CATENATE (TEXT ", ("lit", b"x: y\r\n\r\n"), b" URL \"" + url + b"\")")
        assert re.match(rb"t\d+ NO \[BADURL ", tagged), (url, tagged)
    # A missing destination comes first.
    tagged, _ = c.cmd(b"APPEND Nope CATENATE (URL \"/INBOX;UIDVALIDITY=1/;uid=1\")")
    assert b"NO [TRYCREATE]" in tagged
    assert messages(c, b"Drafts") == 0
    c.close()


def test_urlauth_across_users_and_resetkey(server):
    server.add_user(BOB)
    a = Client(server)
    caps = a.cmd(b"CAPABILITY")[1][0]
    assert b"URLAUTH" in caps
    tagged, _ = a.cmd(b"APPEND INBOX ", ("lit", M1), b"")
    uid = re.search(rb"APPENDUID \d+ (\d+)", tagged).group(1)
    base = b"imap://alice@example.test/INBOX/;uid=" + uid
    urls = {}
    for access in [b"authuser", b"user+bob@example.test", b"user+alice@example.test", b"submit+bob@example.test"]:
        tagged, untagged = a.cmd(b"GENURLAUTH \"" + base + b";urlauth=" + access + b"\" INTERNAL")
        assert b" OK " in tagged, tagged
        urls[access] = re.match(rb'\* GENURLAUTH "([^"]+)"', untagged[0]).group(1)
        assert re.fullmatch(re.escape(base) + rb";urlauth=" + re.escape(access) + rb":internal:[0-9a-f]{64}",
                            urls[access])
    b = Client(server, BOB)

    def fetch(client, url):
        tagged, untagged = client.cmd(b"URLFETCH \"" + url + b"\"")
        assert b" OK " in tagged, tagged
        return untagged[0]

    assert fetch(b, urls[b"authuser"]).endswith(b"{%d}\r\n" % len(M1) + M1 + b"\r\n")
    assert fetch(b, urls[b"user+bob@example.test"]).endswith(M1 + b"\r\n")
    assert fetch(b, urls[b"user+alice@example.test"]).endswith(b" NIL\r\n")
    assert fetch(b, urls[b"submit+bob@example.test"]).endswith(b" NIL\r\n")
    assert fetch(a, urls[b"user+alice@example.test"]).endswith(M1 + b"\r\n")
    # A changed token, a changed URL, an unsigned one: NIL.
    good = urls[b"authuser"]
    assert fetch(b, good[:-1] + (b"0" if good[-1:] != b"0" else b"1")).endswith(b" NIL\r\n")
    assert fetch(b, good.replace(b";uid=" + uid, b";uid=" + uid + b"/;section=1")).endswith(b" NIL\r\n")
    assert fetch(b, base).endswith(b" NIL\r\n")
    # GENURLAUTH only for one's own mailboxes, complete rumps, INTERNAL.
    for bad in [b"imap://bob@example.test/INBOX/;uid=1;urlauth=authuser\" INTERNAL",
                base + b"\" INTERNAL", base + b";urlauth=authuser\" HMAC", b"/INBOX/;uid=1;urlauth=authuser\" INTERNAL"]:
        tagged, _ = a.cmd(b"GENURLAUTH \"" + bad)
        assert re.match(rb"t\d+ (NO|BAD)", tagged), (bad, tagged)
    # RESETKEY: every URL made with the old key stops working.
    assert b" OK " in a.cmd(b"RESETKEY INBOX")[0]
    assert fetch(b, urls[b"authuser"]).endswith(b" NIL\r\n")
    tagged, untagged = a.cmd(b"GENURLAUTH \"" + base + b";urlauth=authuser\" INTERNAL")
    fresh = re.match(rb'\* GENURLAUTH "([^"]+)"', untagged[0]).group(1)
    assert fresh != urls[b"authuser"]
    assert fetch(b, fresh).endswith(M1 + b"\r\n")
    assert b" OK " in a.cmd(b"RESETKEY")[0]
    assert fetch(b, fresh).endswith(b" NIL\r\n")
    assert b"NO" in a.cmd(b"RESETKEY Nope")[0]
    a.close()
    b.close()


MIME = (b"From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"AAECAw==\r\n--b--\r\n")


def test_urlfetch_binary_and_bodypartstructure(server):
    server.add_user(BOB)
    a = Client(server)
    assert b"URLAUTH=BINARY" in a.cmd(b"CAPABILITY")[1][0]
    tagged, _ = a.cmd(b"APPEND INBOX ", ("lit", MIME), b"")
    uid = re.search(rb"APPENDUID \d+ (\d+)", tagged).group(1)
    _, untagged = a.cmd(b"GENURLAUTH \"imap://alice@example.test/INBOX/;uid=" + uid +
                        b"/;section=2;urlauth=authuser\" INTERNAL")
    url = re.match(rb'\* GENURLAUTH "([^"]+)"', untagged[0]).group(1)
    b = Client(server, BOB)
    tagged, untagged = b.cmd(b"URLFETCH (\"" + url + b"\" BINARY BODYPARTSTRUCTURE BODY)")
    assert b" OK " in tagged, tagged
    # The decoded bytes hold a NUL: literal8. The structure names the stored
    # encoding with the decoded size.
    assert (b'(BODYPARTSTRUCTURE ("application" "octet-stream" NIL NIL NIL "base64" 4 NIL NIL NIL NIL) '
            b'BINARY ~{4}\r\n\x00\x01\x02\x03 BODY "AAECAw=="' in untagged[0]), untagged[0]
    # Without parameters: the plain form; an invalid URL: NIL either way.
    bad = url[:-1] + (b"0" if url[-1:] != b"0" else b"1")
    tagged, untagged = b.cmd(b"URLFETCH \"" + url + b"\" (\"" + bad + b"\" BINARY)")
    assert untagged[0].endswith(b'"AAECAw==" "' + bad + b'" NIL\r\n'), untagged[0]
    a.close()
    b.close()
