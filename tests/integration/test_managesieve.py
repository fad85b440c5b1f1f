"""ManageSieve (RFC 5804) against the real server: sieve-connect (Debian's
Perl client) over STARTTLS for the everyday operations, and a raw client
for the edges (literals, quoted strings, refused plaintext logins, bans,
STARTTLS injection, quota and compile errors)."""
import base64
import os
import re
import socket
import ssl
import subprocess

import pytest

from conftest import PASSWORD, wait_for

USER = "alice@example.test"


class Sieve:
    """A raw ManageSieve client: responses are read up to their OK/NO/BYE line."""

    def __init__(self, inst, source="127.0.0.1"):
        self.inst = inst
        self.s = socket.create_connection(("127.0.0.1", inst.ports["managesieve"]), timeout=10,
                                          source_address=(source, 0))
        self.buf = b""
        self.greeting = self.response()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self):
        """Everything up to and including the OK/NO/BYE line (literals skipped over whole)."""
        out = b""
        for _ in range(10000):
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                try:
                    self._fill()
                except EOFError:
                    out, self.buf = out + self.buf, b""
                    return out
                continue
            line = self.buf[: nl + 2]
            self.buf = self.buf[nl + 2:]
            out += line
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if m:
                n = int(m.group(1))
                while len(self.buf) < n:
                    self._fill()
                out += self.buf[:n]
                self.buf = self.buf[n:]
                continue
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return out
        raise AssertionError("response too long")

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.response()

    def starttls(self):
        assert self.cmd(b"STARTTLS").startswith(b"OK")
        ctx = self.inst.server_hostname_context()
        self.s = ctx.wrap_socket(self.s, server_hostname="mail.example.test")
        self.buf = b""
        return self.response()  # the capabilities again

    def login(self, user=USER, password=PASSWORD):
        ir = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        return self.cmd(b'AUTHENTICATE "PLAIN" "' + ir + b'"')

    def close(self):
        self.s.close()


def logged_in(inst):
    c = Sieve(inst)
    c.starttls()
    assert c.login().startswith(b"OK"), "login"
    return c


def sieve_connect(inst, *args, password=PASSWORD):
    r, w = os.pipe()
    os.write(w, password.encode() + b"\n")
    os.close(w)
    try:
        return subprocess.run(
            ["sieve-connect", "--server", "127.0.0.1", "--port", str(inst.ports["managesieve"]),
             "--user", USER, "--passwordfd", str(r), "--tlscafile", inst.cert, "--tlshostname",
             "mail.example.test", "--authmech", "PLAIN", *args],
            pass_fds=(r,), capture_output=True, text=True, timeout=60)
    finally:
        os.close(r)


def test_sieve_connect_upload_list_activate_download_delete(server, tmp_path):
    script = tmp_path / "rules.sieve"
    script.write_text('require "fileinto";\r\nif header :contains "subject" "spam" { fileinto "Junk"; }\r\n')
    r = sieve_connect(server, "--upload", "--localsieve", str(script), "--remotesieve", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--activate", "--remotesieve", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--list")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"rules\s+<-\s*active|rules.*active", r.stdout, re.I), r.stdout
    out = tmp_path / "back.sieve"
    r = sieve_connect(server, "--download", "--remotesieve", "rules", "--localsieve", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.read_text() == script.read_text()
    # On disk where delivery looks for it.
    on_disk = os.path.join(server.dir, "data", "mailboxes", "example.test", "alice", "sieve")
    assert open(os.path.join(on_disk, "rules.sieve")).read() == script.read_text()
    assert open(os.path.join(on_disk, "active")).read().strip() == "rules"
    r = sieve_connect(server, "--deactivate")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--delete", "--remotesieve", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(os.path.join(on_disk, "rules.sieve"))
    assert server.wait_log(r"managesieve login session=\d+ ip=127\.0\.0\.1 user=alice@example\.test")


def test_capabilities_and_plaintext_auth_refused(server):
    c = Sieve(server)
    g = c.greeting
    assert b'"IMPLEMENTATION" "Mailfort"' in g
    assert b'"SASL" ""' in g, g
    assert b'"STARTTLS"' in g
    assert b'"VERSION" "1.0"' in g
    assert re.search(rb'"SIEVE" "[^"]*\bfileinto\b', g)
    assert b'"MAXREDIRECTS" "4"' in g
    assert g.endswith(b"\r\n") and b"\r\nOK" in g
    r = c.login()
    assert r.startswith(b"NO (ENCRYPT-NEEDED)"), r
    assert c.cmd(b"LISTSCRIPTS").startswith(b"NO")
    caps = c.starttls()
    assert b'"SASL" "PLAIN LOGIN"' in caps
    assert b'"STARTTLS"' not in caps
    assert caps.rstrip().split(b"\r\n")[-1].startswith(b"OK")
    assert c.login().startswith(b"OK")
    caps = c.cmd(b"CAPABILITY")
    assert b'"OWNER" "alice@example.test"' in caps
    assert c.cmd(b"LOGOUT").startswith(b"OK")
    c.close()


def test_literals_quoted_strings_and_script_commands(server):
    c = logged_in(server)
    body = b'require "fileinto";\r\nfileinto "INBOX.a\\"b";\r\n'
    r = c.cmd(b'PUTSCRIPT "one" {%d+}\r\n' % len(body) + body)
    assert r.startswith(b"OK"), r
    # A synchronizing literal: RFC 5804 has no continuation, the bytes follow.
    r = c.cmd(b'putscript "two \\"q\\" \\\\" {%d}\r\n' % len(b"keep;\r\n") + b"keep;\r\n")
    assert r.startswith(b"OK"), r
    r = c.cmd(b"LISTSCRIPTS")
    assert b'"one"\r\n' in r and b'"two \\"q\\" \\\\"\r\n' in r, r
    assert c.cmd(b'SETACTIVE "one"').startswith(b"OK")
    r = c.cmd(b"LISTSCRIPTS")
    assert b'"one" ACTIVE\r\n' in r
    r = c.cmd(b'GETSCRIPT "one"')
    assert r.startswith(b"{%d}\r\n" % len(body) + body + b"\r\nOK"), r
    r = c.cmd(b'DELETESCRIPT "one"')
    assert r.startswith(b"NO (ACTIVE)"), r
    assert c.cmd(b'GETSCRIPT "nope"').startswith(b"NO (NONEXISTENT)")
    assert c.cmd(b'SETACTIVE "nope"').startswith(b"NO (NONEXISTENT)")
    assert c.cmd(b'RENAMESCRIPT "one" "two \\"q\\" \\\\"').startswith(b"NO (ALREADYEXISTS)")
    assert c.cmd(b'RENAMESCRIPT "nope" "x"').startswith(b"NO (NONEXISTENT)")
    assert c.cmd(b'RENAMESCRIPT "one" "uno"').startswith(b"OK")
    assert b'"uno" ACTIVE' in c.cmd(b"LISTSCRIPTS")
    assert c.cmd(b'SETACTIVE ""').startswith(b"OK")
    assert c.cmd(b'DELETESCRIPT "uno"').startswith(b"OK")
    assert c.cmd(b'NOOP "tag1"').startswith(b'OK (TAG "tag1")')
    assert c.cmd(b'CHECKSCRIPT "keep;"').startswith(b"OK")
    assert c.cmd(b"FROBNICATE").startswith(b"NO")
    assert c.cmd(b'PUTSCRIPT "bad/name" "keep;"').startswith(b"NO")
    assert c.cmd(b"NOOP \"unterminated").startswith(b"NO")
    # Still usable after the errors.
    assert c.cmd(b"NOOP").startswith(b"OK")
    c.close()


def test_putscript_syntax_error_names_the_line(server):
    c = logged_in(server)
    assert c.cmd(b'CHECKSCRIPT "@@@ {"').startswith(b"NO")
    bad = b'require "fileinto";\r\nkeep;\r\nif true {\r\n  fileinto;\r\n'
    r = c.cmd(b'PUTSCRIPT "broken" {%d+}\r\n' % len(bad) + bad)
    assert r.startswith(b"NO"), r
    assert re.search(rb"line \d+", r), r
    assert b'"broken"' not in c.cmd(b"LISTSCRIPTS")
    c.close()


def test_quota_responses(instance):
    instance.set("sieve", "max_script_size", "1100")
    instance.set("sieve", "max_scripts", "2")
    instance.set("sieve", "max_storage", "1500")
    instance.add_user(USER)
    instance.start()
    c = logged_in(instance)
    assert c.cmd(b'HAVESPACE "a" 1101').startswith(b"NO (QUOTA/MAXSIZE)")
    assert c.cmd(b'HAVESPACE "a" 1100').startswith(b"OK")
    s800 = b"keep;" + b" " * 793 + b"\r\n"
    assert c.cmd(b'PUTSCRIPT "a" {800+}\r\n' + s800).startswith(b"OK")
    assert c.cmd(b'HAVESPACE "b" 800').startswith(b"NO (QUOTA)")
    assert c.cmd(b'PUTSCRIPT "b" {800+}\r\n' + s800).startswith(b"NO (QUOTA)")
    assert c.cmd(b'PUTSCRIPT "b" "keep;"').startswith(b"OK")
    assert c.cmd(b'HAVESPACE "c" 1').startswith(b"NO (QUOTA/MAXSCRIPTS)")
    big = b"#" * 1101
    assert c.cmd(b'PUTSCRIPT "a" {1101+}\r\n' + big).startswith(b"NO (QUOTA/MAXSIZE)")
    c.close()


def test_oversized_literal_refused_without_reading_it(instance):
    instance.set("sieve", "max_script_size", "1024")
    instance.add_user(USER)
    instance.start()
    c = logged_in(instance)
    # Announce 100 MB and send none of it: the server answers at once and closes.
    r = c.cmd(b'PUTSCRIPT "x" {100000000+}')
    assert r.startswith(b"BYE (QUOTA/MAXSIZE)"), r
    try:
        rest = c.s.recv(100)
    except (ConnectionError, ssl.SSLError):
        rest = b""
    assert rest == b""
    c.close()


def test_unauthenticate(server):
    c = logged_in(server)
    assert c.cmd(b"UNAUTHENTICATE").startswith(b"OK")
    assert c.cmd(b"LISTSCRIPTS").startswith(b"NO")
    assert c.login().startswith(b"OK")
    assert c.cmd(b"LISTSCRIPTS").startswith(b"OK")
    c.close()


def test_authenticate_login_continuations_and_abort(server):
    c = Sieve(server)
    c.starttls()
    # PLAIN without an initial response: empty challenge, response as a literal.
    c.send(b'AUTHENTICATE "PLAIN"\r\n')
    assert c.s.recv(100).startswith(b'""')
    ir = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
    assert c.cmd(b"{%d+}\r\n" % len(ir) + ir).startswith(b"OK")
    assert c.cmd(b"UNAUTHENTICATE").startswith(b"OK")
    # LOGIN with quoted responses.
    c.send(b'AUTHENTICATE "LOGIN"\r\n')
    c.s.recv(100)
    c.send(b'"' + base64.b64encode(USER.encode()) + b'"\r\n')
    c.s.recv(100)
    assert c.cmd(b'"' + base64.b64encode(PASSWORD.encode()) + b'"').startswith(b"OK")
    assert c.cmd(b"UNAUTHENTICATE").startswith(b"OK")
    # "*" aborts.
    c.send(b'AUTHENTICATE "PLAIN"\r\n')
    c.s.recv(100)
    assert c.cmd(b'"*"').startswith(b"NO")
    # Authorization as somebody else is refused.
    other = base64.b64encode(b"bob@example.test\0" + USER.encode() + b"\0" + PASSWORD.encode())
    assert c.cmd(b'AUTHENTICATE "PLAIN" "' + other + b'"').startswith(b"NO")
    c.close()


def test_bad_passwords_lead_to_a_ban(instance):
    instance.set("limits", "auth_failures_before_ban", "2")
    instance.add_user(USER)
    instance.start()
    src = "127.0.0.7"
    c = Sieve(instance, src)
    c.starttls()
    assert c.login(password="wrong-1").startswith(b"NO")
    r = c.login(password="wrong-2")
    assert r.startswith(b"BYE"), r
    c.close()
    assert instance.wait_log(rf"ban ip={src}")
    # Banned: even the right password does not get in.
    try:
        c = Sieve(instance, src)
        if c.greeting.startswith(b'"'):
            c.starttls()
            assert not c.login().startswith(b"OK")
        c.close()
    except (ConnectionError, EOFError, ssl.SSLError, socket.timeout):
        pass
    assert instance.wait_log(r"managesieve auth-failed session=\d+ ip=127\.0\.0\.7")


def test_starttls_injection_discarded(server):
    c = Sieve(server)
    # LISTSCRIPTS pipelined after STARTTLS in the same packet must not run over TLS.
    c.send(b'STARTTLS\r\nAUTHENTICATE "PLAIN" "x"\r\nLISTSCRIPTS\r\n')
    assert c.response().startswith(b"OK")
    ctx = server.server_hostname_context()
    c.s = ctx.wrap_socket(c.s, server_hostname="mail.example.test")
    c.buf = b""
    caps = c.response()
    assert b'"SASL" "PLAIN LOGIN"' in caps
    assert c.cmd(b"NOOP").startswith(b"OK"), "the injected commands got no reply"
    assert server.wait_log(r"managesieve starttls-injection")
    c.close()
