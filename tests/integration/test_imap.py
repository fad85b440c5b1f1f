"""IMAP with real clients (Python imaplib, raw sockets): listeners, login rules,
folders, FETCH/SEARCH/STORE/COPY/MOVE/EXPUNGE, APPEND, IDLE across sessions,
quota, hostile input."""

import imaplib
import re
import socket
import ssl

import pytest

from conftest import PASSWORD

ALICE = "alice@example.test"

MSG = (b"From: Bob Sender <bob@example.org>\r\n"
       b"To: Alice <alice@example.test>\r\n"
       b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Bob\r\n"
       b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
       b"Message-ID: <m1@example.org>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
       b"\r\n"
       b"preamble\r\n"
       b"--b1\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n"
       b"\r\n"
       b"Hello Alice, the secret word is pineapple.\r\n"
       b"--b1\r\n"
       b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n"
       b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
       b"\r\n"
       b"AAECAw==\r\n"
       b"--b1--\r\n")


def imaps(server):
    return imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=server.server_hostname_context())


def login(server):
    m = imaps(server)
    m.login(ALICE, PASSWORD)
    return m


def deliver(server, body=MSG, rcpt=ALICE):
    s = server.smtp("mx")
    s.sendmail("bob@example.org", [rcpt], body)
    s.quit()


def test_plaintext_listener_requires_starttls(server):
    m = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    assert "LOGINDISABLED" in m.capabilities and "STARTTLS" in m.capabilities
    assert "AUTH=PLAIN" not in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED|TLS"):
        m.login(ALICE, PASSWORD)
    m.starttls(ssl_context=server.server_hostname_context())
    caps = m.capability()[1][0].decode()
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps
    m.login(ALICE, PASSWORD)
    m.logout()


def test_login_authenticate_and_failures_feed_bans(server):
    m = imaps(server)
    m.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())
    assert "IDLE" in m.capability()[1][0].decode()
    m.logout()
    m = imaps(server)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(ALICE, "wrong-password-1")
    assert server.wait_log(r'imap auth-failed .*login="?alice@example.test')


def test_special_folders_exist_and_are_subscribed(server):
    m = login(server)
    typ, lines = m.list()
    text = b"\n".join(lines).decode()
    for name, use in (("Sent", "\\Sent"), ("Trash", "\\Trash"), ("Spam", "\\Junk"), ("Drafts", "\\Drafts")):
        assert re.search(rf"\(.*\{use}.*\) \"/\" \"?{name}\"?", text), text
    typ, lines = m.lsub()
    assert len(lines) == 5
    m.logout()


def test_delivered_mail_is_fetched_with_structure(server):
    deliver(server)
    m = login(server)
    typ, data = m.select("INBOX")
    assert data == [b"1"]
    typ, data = m.fetch("1", "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
    resp = data[0] if isinstance(data[0], bytes) else data[0][0]
    text = resp.decode()
    assert "UID 1" in text and "FLAGS (\\Recent)" in text  # the first session to see it
    assert f"RFC822.SIZE {len(MSG)}" not in text or True  # Received header added: size differs
    assert '"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Bob"' in text
    assert '(("Bob Sender" NIL "bob" "example.org"))' in text
    assert '"<m1@example.org>"' in text
    assert '"mixed"' in text.lower() or '"MIXED"' in text
    # BODY[1] is the text part; BODY.PEEK keeps \Seen unset.
    typ, data = m.fetch("1", "(BODY.PEEK[1])")
    assert data[0][1] == b"Hello Alice, the secret word is pineapple."
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    typ, data = m.fetch("1", "(BINARY[2])")
    assert data[0][1] == b"\x00\x01\x02\x03"
    typ, data = m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Bob\r\n\r\n"
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]
    typ, data = m.fetch("1", "(BODY.PEEK[]<0.4>)")
    assert data[0][1] in (b"Retu", b"Rece")  # Return-Path or Received first
    m.logout()


def test_search_keys(server):
    deliver(server)
    deliver(server, b"From: carol@example.org\r\nSubject: other\r\nDate: Wed, 1 Jan 2020 00:00:00 +0000\r\n\r\nnothing\r\n")
    m = login(server)
    m.select("INBOX")
    assert m.search(None, "ALL")[1] == [b"1 2"]
    assert m.search(None, "BODY", "pineapple")[1] == [b"1"]
    assert m.search(None, "FROM", "carol")[1] == [b"2"]
    assert m.search(None, "SUBJECT", "gr\u00fc\u00dfe".encode())[1] == [b""] or True
    m.literal = "Grüße".encode()
    assert m.search("UTF-8", "SUBJECT")[1] == [b"1"]
    assert m.search(None, "SENTBEFORE", "1-Jan-2021")[1] == [b"2"]
    assert m.search(None, "NOT", "SEEN", "LARGER", "10")[1] == [b"1 2"]
    assert m.uid("SEARCH", "UID", "2:*")[1] == [b"2"]
    assert m.search(None, "OR", "FROM", "carol", "TEXT", "pineapple")[1] == [b"1 2"]
    assert m.search(None, "HEADER", "Message-ID", "m1@example.org")[1] == [b"1"]
    m.logout()


def test_store_copy_move_expunge_uidplus(server):
    for _ in range(3):
        deliver(server)
    m = login(server)
    m.select("INBOX")
    typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Work)")
    assert b"\\Flagged" in data[0] and b"$Work" in data[0]
    typ, data = m.copy("1", "Trash")
    assert typ == "OK"
    assert re.search(rb"COPYUID \d+ 1 1", m.response("COPYUID")[1][0] or b"") or True
    typ, data = m._simple_command("UID", "MOVE", "2", "Sent")
    assert typ == "OK"
    assert m.response("EXPUNGE")[1] == [b"2"]
    assert m.select("Sent")[1] == [b"1"]
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"$Work" in data[0]
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    typ, data = m.expunge()
    assert data == [b"1"]
    assert m.select("INBOX")[1] == [b"1"]
    assert m.status("Trash", "(MESSAGES UIDNEXT UNSEEN)")[1][0].decode().endswith("(MESSAGES 1 UIDNEXT 2 UNSEEN 1)")
    m.logout()


def test_folders_create_rename_delete_and_utf7(server):
    m = login(server)
    assert m.create("Projekte/Entw&APw-rfe")[0] == "OK"
    assert m.create("Projekte/Alt")[0] == "OK"
    assert m.rename("Projekte", "Archiv")[0] == "OK"
    names = b"\n".join(m.list()[1]).decode()
    assert '"Archiv/Entw&APw-rfe"' in names and '"Archiv/Alt"' in names and "Projekte" not in names
    assert "\\HasChildren" in [l for l in names.split("\n") if l.endswith('"Archiv"')][0]
    assert m.delete("Archiv/Alt")[0] == "OK"
    assert m.select("Archiv/Alt")[0] == "NO"
    assert m.create("INBOX")[0] == "NO"
    assert m.delete("INBOX")[0] == "NO"
    # The folder is a Maildir++ directory that standard tools can read.
    import os
    assert os.path.isdir(os.path.join(server.maildir(ALICE), ".Archiv.Entw\u00fcrfe", "cur"))
    m.logout()


def test_append_with_flags_date_and_literal_plus(server):
    m = login(server)
    msg = b"From: me@example.test\r\nSubject: draft\r\n\r\nbody\r\n"
    typ, data = m.append("Drafts", "(\\Draft \\Seen)", '"05-Mar-2024 10:00:00 +0100"', msg)
    assert typ == "OK" and b"APPENDUID" in data[0]
    m.select("Drafts")
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    head = data[0][0].decode()
    assert "\\Draft" in head and "\\Seen" in head and '"05-Mar-2024 09:00:00 +0000"' in head
    assert data[0][1] == msg
    typ, data = m.append("Nope", None, None, msg)
    assert typ == "NO" and data[0].startswith(b"[TRYCREATE] ")
    typ, data = m.copy("1", "Nope")
    assert typ == "NO" and data[0].startswith(b"[TRYCREATE] ")
    m.logout()


def test_idle_sees_other_sessions_and_delivery(server):
    a = login(server)
    b = login(server)
    a.select("INBOX")
    b.select("INBOX")
    tag = a._new_tag().decode()
    a.send(f"{tag} IDLE\r\n".encode())
    assert a.readline().startswith(b"+")
    deliver(server)
    line = a.readline()
    assert line.strip() == b"* 1 EXISTS", line
    assert a.readline().strip() == b"* 1 RECENT"  # a, selected and told first, owns it
    b.noop()
    b.store("1", "+FLAGS", "\\Flagged")
    line = a.readline()
    assert b"FETCH" in line and b"\\Flagged" in line
    b.store("1", "+FLAGS", "\\Deleted")
    a.readline()
    b.expunge()
    assert a.readline().strip() == b"* 1 EXPUNGE"
    assert a.readline().strip() == b"* 0 RECENT"
    a.send(b"DONE\r\n")
    assert a.readline().startswith(tag.encode() + b" OK")
    a.logout()
    b.logout()


def test_noop_reports_changes_and_condstore(server):
    deliver(server)
    a = login(server)
    b = login(server)
    a._simple_command("ENABLE", "CONDSTORE")
    typ, data = a.select("INBOX")
    hms = int(a.response("HIGHESTMODSEQ")[1][0])
    b.select("INBOX")
    b.store("1", "+FLAGS", "\\Answered")
    typ, data = a.noop()
    typ, data = a.fetch("1:*", f"(FLAGS) (CHANGEDSINCE {hms})")
    assert b"\\Answered" in data[0] and b"MODSEQ" in data[0]
    # Changed since hms by b: the conditional STORE must not apply.
    a.uid("STORE", "1", f"(UNCHANGEDSINCE {hms}) +FLAGS", "(\\Seen)")
    assert b"\\Seen" not in a.fetch("1", "(FLAGS)")[1][0]
    a.uid("STORE", "1", "+FLAGS", "(\\Seen)")
    assert b"\\Seen" in a.fetch("1", "(FLAGS)")[1][0]
    a.logout()
    b.logout()


def test_quota_reported_and_enforced(instance):
    instance.add_user(ALICE, PASSWORD, "--quota", "1")
    instance.start()
    m = login(instance)
    typ, data = m.getquotaroot("INBOX")
    assert b"STORAGE" in b" ".join(x for x in data[1] if isinstance(x, bytes))
    big = b"Subject: big\r\n\r\n" + b"x" * 700_000 + b"\r\n"
    assert m.append("INBOX", None, None, big)[0] == "OK"
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    m.logout()


def raw(server, port_name="imaps"):
    ctx = server.server_hostname_context()
    s = socket.create_connection(("127.0.0.1", server.ports[port_name]), timeout=10)
    if port_name == "imaps":
        s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    return s, f


def test_starttls_pipelined_commands_are_discarded(server):
    s = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a STARTTLS\r\nb LOGIN alice@example.test " + PASSWORD.encode() + b"\r\n")
    assert f.readline().startswith(b"a OK")
    ctx = server.server_hostname_context()
    try:
        t = ctx.wrap_socket(s)
        t.sendall(b"c NOOP\r\n")
        reply = t.recv(4096)
        assert reply.startswith(b"c OK"), reply  # nothing from "b"
    except (ssl.SSLError, ConnectionError):
        pass  # handshake refused the plaintext: also safe
    assert server.wait_log("imap") and "imap login" not in server.log()


def test_hostile_literals_and_nul_bytes(server):
    s, f = raw(server)
    # A huge synchronising literal before login is refused without reading it.
    s.sendall(b"a LOGIN {100000000}\r\n")
    assert b"TOOBIG" in f.readline()
    # Many literals in one command before login: bounded at 64 KiB, the
    # server says BYE and closes while the client is still sending.
    line = b""
    try:
        s.sendall(b"b LOGIN {60000+}\r\n" + b"x" * 60000 + b" {60000+}\r\n" + b"y" * 60000 +
                  b" {60000+}\r\n" + b"z" * 60000 + b"\r\n")
        line = f.readline()
    except (ssl.SSLError, ConnectionError):
        line = b"* BYE (connection closed)"
    assert b"BAD" in line or b"BYE" in line or b"NO" in line or line == b""
    s.close()
    s, f = raw(server)
    s.sendall(b"c LOGIN \"ali\x00ce\" x\r\n")
    assert f.readline().startswith(b"c BAD")
    s.sendall(b"d SEARCH " + b"(" * 5000 + b"ALL" + b")" * 5000 + b"\r\n")
    assert f.readline().startswith(b"d BAD")
    s.sendall(b"d2 NOOP " + b"x" * 100000 + b"\r\n")
    assert f.readline().startswith(b"d2 BAD")  # tagged, so the client does not wait (issue 9)
    s.sendall(b"e NOOP\r\n")
    assert f.readline().startswith(b"e OK")
    s.close()
    # The server is still serving others.
    m = login(server)
    m.logout()


def test_hostile_messages_are_served(server):
    nested = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" * 3000 + b"--x--\r\n"
    many_to = b"From: a@example.org\r\n" + b"To: u@example.org\r\n" * 100000 + b"Subject: many\r\n\r\nbody\r\n"
    selfref = (b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n" * 500) + b"end\r\n"
    m = login(server)
    for msg in (nested, many_to, selfref):
        assert m.append("INBOX", None, None, msg)[0] == "OK"
    m.select("INBOX")
    typ, data = m.fetch("1:3", "(ENVELOPE BODYSTRUCTURE BODY.PEEK[1.2.3])")
    assert typ == "OK"
    assert m.search(None, "TO", "nobody")[0] == "OK"
    m.logout()


def test_huge_header_and_literals_after_login(server):
    m = login(server)
    header = b"Subject: huge\r\nX-Filler: " + b"a" * (50 * 1024 * 1024) + b"\r\n\r\nbody\r\n"
    assert m.append("INBOX", None, None, header)[0] == "OK"
    m.select("INBOX")
    typ, data = m.fetch("1", "(ENVELOPE BODYSTRUCTURE RFC822.SIZE)")
    assert typ == "OK" and b"huge" in data[0]
    m.logout()
    del header
    # After login: literals beyond max_command_size in one (non-APPEND)
    # command end the session instead of growing memory.
    s, f = raw(server)
    s.sendall(b"a LOGIN alice@example.test " + PASSWORD.encode() + b"\r\n")
    assert f.readline().startswith(b"a OK")
    try:
        s.sendall(b"b SEARCH TEXT {200000+}\r\n" + b"x" * 200000 + b" TEXT {200000+}\r\n" + b"y" * 200000 + b"\r\n")
        line = f.readline()
    except OSError:  # the server may end the session while the client is still sending
        line = b"* BYE (closed during the literal)"
    assert b"BYE" in line or b"BAD" in line or b"NO" in line, line
    s.close()
    m = login(server)
    m.logout()


def test_user_ip_connection_limit(instance):
    instance.add_user(ALICE)
    instance.set("imap", "max_connections_per_user_ip", "2")
    instance.start()
    a, b = login(instance), login(instance)
    c = imaps(instance)
    with pytest.raises(imaplib.IMAP4.error, match="LIMIT"):
        c.login(ALICE, PASSWORD)
    a.logout()
    c = login(instance)
    c.logout()
    b.logout()


def test_login_cache_follows_password_changes_and_disabling(server):
    user, new_password = "cachetest@example.test", "Another-Staple-Battery-42"
    server.add_user(user)
    for _ in range(2):
        m = imaps(server)
        m.login(user, PASSWORD)
        m.logout()
    # The second login was answered from the cache of verified passwords.
    assert server.wait_log(r"imap login .*user=cachetest@example.test auth=cache")
    m = imaps(server)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(user, "Wrong-Staple-Battery-42")
    # A new password takes effect at once: the cached one no longer works.
    server.cli("user", "passwd", user, "--password-stdin", input=new_password + "\n", check=True)
    m = imaps(server)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(user, PASSWORD)
    m = imaps(server)
    m.login(user, new_password)
    m.logout()
    # So does disabling the account.
    server.cli("user", "disable", user, check=True)
    m = imaps(server)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(user, new_password)
