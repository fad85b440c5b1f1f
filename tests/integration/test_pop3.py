"""POP3 with real clients (Python poplib, curl, raw sockets): STLS rules,
listing, retrieval, UIDL stable and consistent with IMAP, DELE at QUIT."""

import imaplib
import poplib
import socket
import ssl
import subprocess

import pytest

from conftest import PASSWORD

ALICE = "alice@example.test"


def deliver(server, subject):
    s = server.smtp("mx")
    s.sendmail("bob@example.org", [ALICE], f"From: bob@example.org\r\nSubject: {subject}\r\n\r\n.leading dot\r\nbody {subject}\r\n")
    s.quit()


def pop3s(server):
    p = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], context=server.server_hostname_context())
    p.user(ALICE)
    p.pass_(PASSWORD)
    return p


def test_plaintext_logins_refused_before_stls(server):
    p = poplib.POP3("127.0.0.1", server.ports["pop3"])
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
    with pytest.raises(poplib.error_proto, match="STLS"):
        p.user(ALICE)
    p.stls(context=server.server_hostname_context())
    caps = p.capa()
    assert "USER" in caps and "STLS" not in caps
    p.user(ALICE)
    p.pass_(PASSWORD)
    p.quit()


def test_list_retr_top_uidl_dele(server):
    for i in range(3):
        deliver(server, f"m{i}")
    p = pop3s(server)
    count, size = p.stat()
    assert count == 3
    resp, listing, _ = p.list()
    assert len(listing) == 3
    resp, lines, _ = p.retr(1)
    assert b".leading dot" in lines and b"Subject: m0" in lines  # poplib un-stuffs
    resp, lines, _ = p.top(2, 0)
    assert b"Subject: m1" in lines and b"body m1" not in lines
    uidls = p.uidl()[1]
    p.dele(2)
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    p.quit()
    p = pop3s(server)
    assert p.stat()[0] == 2
    after = p.uidl()[1]
    assert after[0] == uidls[0] and after[1].split()[1] == uidls[2].split()[1]  # stable UIDLs
    p.quit()
    # Consistent with IMAP: the deleted message is gone there too, RETR set \Seen.
    m = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=server.server_hostname_context())
    m.login(ALICE, PASSWORD)
    assert m.select("INBOX")[1] == [b"2"]
    assert b"\\Seen" in m.fetch("1", "(FLAGS)")[1][0]
    m.logout()


def test_rset_and_auth_plain(server):
    deliver(server, "x")
    p = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], context=server.server_hostname_context())
    import base64
    token = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    assert p._shortcmd(f"AUTH PLAIN {token}").startswith(b"+OK")
    p.dele(1)
    p.rset()
    p.quit()
    p = pop3s(server)
    assert p.stat()[0] == 1
    p.quit()


def test_bad_password_and_stls_injection(server):
    p = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], context=server.server_hostname_context())
    p.user(ALICE)
    with pytest.raises(poplib.error_proto, match="AUTH"):
        p.pass_("wrong-password")
    p.close()
    s = socket.create_connection(("127.0.0.1", server.ports["pop3"]), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"STLS\r\nUSER alice@example.test\r\n")
    assert f.readline().startswith(b"+OK")
    try:
        t = server.server_hostname_context().wrap_socket(s)
        t.sendall(b"NOOP\r\n")
        reply = t.recv(4096)
        assert reply.startswith(b"-ERR Log in first"), reply  # USER was discarded, not answered
    except (ssl.SSLError, ConnectionError):
        pass


def test_curl_pop3_and_imap(server):
    deliver(server, "curl")
    common = ["curl", "-s", "--cacert", server.cert, "--resolve", f"mail.example.test:{server.ports['pop3s']}:127.0.0.1",
              "-u", f"{ALICE}:{PASSWORD}"]
    r = subprocess.run(common + [f"pop3s://mail.example.test:{server.ports['pop3s']}/1"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Subject: curl" in r.stdout
    r = subprocess.run(["curl", "-s", "--cacert", server.cert, "--resolve",
                        f"mail.example.test:{server.ports['imaps']}:127.0.0.1", "-u", f"{ALICE}:{PASSWORD}",
                        f"imaps://mail.example.test:{server.ports['imaps']}/INBOX;UID=1"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Subject: curl" in r.stdout
    r = subprocess.run(["curl", "-s", "--cacert", server.cert, "--resolve",
                        f"mail.example.test:{server.ports['imap']}:127.0.0.1", "--ssl-reqd", "-u", f"{ALICE}:{PASSWORD}",
                        f"imap://mail.example.test:{server.ports['imap']}/"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Sent" in r.stdout and b"INBOX" in r.stdout
