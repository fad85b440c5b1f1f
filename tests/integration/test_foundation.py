"""Issue 2: config check, CLI, TLS listeners, SIGHUP, limits, bans, logs."""
import base64
import os
import signal
import smtplib
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BIN, PASSWORD, Raw, run_as_owner, wait_for


def line_of(path, needle):
    for i, line in enumerate(open(path).read().split("\n"), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


# ---------- mailfort check ----------

def test_check_passes_on_fresh_instance(instance):
    r = instance.cli("check")
    assert r.returncode == 0, r.stderr
    assert "config OK" in r.stdout


def test_check_reports_unknown_key_with_file_and_line(instance):
    instance.set("limits", "bogus_key", "1")
    r = instance.cli("check")
    assert r.returncode == 1
    line = line_of(instance.config, "bogus_key")
    assert f"{instance.config}:{line}:" in r.stderr
    assert "unknown key 'bogus_key' in [limits]" in r.stderr


def test_check_reports_missing_cert_and_port_clash(instance):
    instance.set("tls", "cert", '"/nonexistent/cert.pem"')
    text = open(instance.config).read()
    smtps_port, sub_port = instance.ports["smtps"], instance.ports["submission"]
    text = text.replace(f'address = "127.0.0.1:{smtps_port}"', f'address = "127.0.0.1:{sub_port}"')
    open(instance.config, "w").write(text)
    r = instance.cli("check")
    assert r.returncode == 1
    cert_line = line_of(instance.config, "/nonexistent/cert.pem")
    assert f"{instance.config}:{cert_line}: certificate /nonexistent/cert.pem is not readable" in r.stderr
    assert "port clash" in r.stderr


def test_check_reports_bad_values(instance):
    instance.set("limits", "max_line_length", "10")
    instance.set("tls", "min_version", '"1.0"')
    r = instance.cli("check")
    assert r.returncode == 1
    assert f":{line_of(instance.config, 'max_line_length = 10')}: 'limits.max_line_length' must be between" in r.stderr
    assert "must be one of: 1.2 1.3" in r.stderr


# ---------- CLI ----------

def test_cli_round_trip(instance):
    c = instance.cli
    assert c("domain", "add", "other.test").returncode == 0
    assert "other.test" in c("domain", "list").stdout
    # -c after the subcommand works too
    r = subprocess.run([BIN, "domain", "list", "-c", instance.config], capture_output=True, text=True)
    assert r.returncode == 0 and "other.test" in r.stdout

    r = c("user", "add", "carol@other.test", "--quota", "20")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("password for carol@other.test: ")
    generated = r.stdout.split(": ", 1)[1].split("\n")[0]
    assert len(generated) >= 16
    listing = c("user", "list", "other.test").stdout
    assert "carol@other.test" in listing and " 20 " in listing

    weak = c("user", "add", "weak@other.test", "--password-stdin", input="password\n")
    assert weak.returncode != 0 and weak.stderr.startswith("mailfort: ")
    assert c("user", "passwd", "carol@other.test", "--password-stdin", input="Fresh-Meadow-77\n").returncode == 0
    assert c("user", "disable", "carol@other.test").returncode == 0
    assert " no " in c("user", "list", "other.test").stdout
    assert c("user", "enable", "carol@other.test").returncode == 0

    assert c("alias", "add", "info@other.test", "carol@other.test").returncode == 0
    assert c("alias", "add", "@other.test", "carol@other.test").returncode == 0
    aliases = c("alias", "list", "other.test").stdout
    assert "info@other.test" in aliases and "@other.test " in aliases
    assert c("alias", "remove", "info@other.test", "carol@other.test").returncode == 0
    assert "info@other.test" not in c("alias", "list").stdout

    assert c("tls-policy", "set", "gmx.de", "secure", "match=.gmx.net").returncode == 0
    assert c("tls-policy", "set", "mailbox.org", "dane-only").returncode == 0
    bad = c("tls-policy", "set", "x.test", "sometimes")
    assert bad.returncode != 0 and "unknown policy" in bad.stderr
    pol = c("tls-policy", "list").stdout
    assert "gmx.de" in pol and "match=.gmx.net" in pol and "dane-only" in pol
    assert c("tls-policy", "remove", "gmx.de").returncode == 0

    refused = c("domain", "remove", "other.test")
    assert refused.returncode != 0 and "still has accounts or aliases" in refused.stderr
    unknown = c("user", "add", "x@nowhere.test", "--password-stdin", input="Fresh-Meadow-77\n")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
    assert c("user", "remove", "carol@other.test").returncode == 0
    assert c("alias", "remove", "@other.test", "carol@other.test").returncode == 0
    assert c("domain", "remove", "other.test").returncode == 0


@pytest.mark.parametrize("args", [[], ["user"], ["user", "add"], ["domain"], ["alias"], ["tls-policy"], ["ban"],
                                  ["init"], ["serve"], ["check"]])
def test_help_on_every_level(args):
    r = subprocess.run([BIN, *args, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "Usage" in r.stdout


def test_usage_error_is_one_line(instance):
    r = instance.cli("user", "frobnicate")
    assert r.returncode != 0
    assert r.stderr.startswith("mailfort: ") and r.stderr.count("\n") == 1


# ---------- SMTP skeleton and TLS ----------

def test_submission_starttls_then_auth(server):
    s = server.smtp("submission")
    code, banner = s.getreply() if False else (220, b"")
    code, resp = s.ehlo("client.example.org")
    assert code == 250
    assert b"STARTTLS" in resp and b"AUTH" not in resp
    code, resp = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice@example.test\0" + PASSWORD.encode()).decode())
    assert code == 530 and resp.startswith(b"5.7.0")
    s.starttls(context=server.server_hostname_context())
    code, resp = s.ehlo("client.example.org")
    assert b"AUTH PLAIN LOGIN" in resp and b"STARTTLS" not in resp
    s.login("alice@example.test", PASSWORD)  # AUTH PLAIN
    assert s.noop()[0] == 250
    assert s.rset()[0] == 250
    s.quit()


def test_greeting_and_cert_verified_by_hostname(server):
    raw = Raw(server.ports["submission"], greeting=False)
    assert raw.reply().startswith(b"220 mail.example.test ")
    assert raw.cmd(b"EHLO client.example.org").startswith(b"250")  # the whole multi-line reply
    assert raw.cmd(b"STARTTLS").startswith(b"220 2.0.0")
    assert raw.buf == b""
    ctx = server.tls_context()  # check_hostname on: the cert names mail.example.test
    tls = ctx.wrap_socket(raw.s, server_hostname="mail.example.test")
    tls.sendall(b"NOOP\r\n")
    assert tls.recv(200).startswith(b"250")
    tls.close()


def test_auth_login_and_wrong_password(server):
    s = server.submission_tls()
    s.user, s.password = "alice@example.test", "wrong-password"
    code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False) if False else (None, None)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        s.login("alice@example.test", "Wrong-Password-1")
    assert e.value.smtp_code == 535
    s.close()
    s = server.submission_tls()
    s.user, s.password = "alice@example.test", PASSWORD
    code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235
    s.quit()


def test_smtps_offers_auth_at_once(server):
    s = server.smtps()
    code, resp = s.ehlo("client.example.org")
    assert b"AUTH PLAIN LOGIN" in resp and b"STARTTLS" not in resp
    s.login("alice@example.test", PASSWORD)
    s.quit()


def test_mx_offers_no_auth(server):
    s = server.smtp("mx")
    s.starttls(context=server.server_hostname_context())
    code, resp = s.ehlo("client.example.org")
    assert b"AUTH" not in resp
    s.quit()


def tls_handshake(port, version, cafile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    ctx.check_hostname = False
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # the refusal must come from the server
    ctx.minimum_version = version
    ctx.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.version(), tls.cipher()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_refused_on_implicit_listener(server, version):
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        tls_handshake(server.ports["smtps"], version, server.cert)


@pytest.mark.parametrize("version,name", [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
def test_modern_tls_accepted_on_implicit_listener(server, version, name):
    got, cipher = tls_handshake(server.ports["smtps"], version, server.cert)
    assert got == name
    if name == "TLSv1.2":
        assert "ECDHE" in cipher[0] and ("GCM" in cipher[0] or "CHACHA20" in cipher[0])


def test_openssl_s_client_sees_aead_cipher(server):
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.ports['smtps']}", "-tls1_2",
                        "-brief"], input="QUIT\r\n", capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert "Protocol version: TLSv1.2" in out
    assert "Ciphersuite: ECDHE-" in out and ("GCM" in out or "CHACHA20" in out)
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.ports['smtps']}", "-tls1_1",
                        "-cipher", "DEFAULT@SECLEVEL=0"], input="", capture_output=True, text=True, timeout=20)
    assert "Cipher is (NONE)" in r.stdout and "Cipher    : 0000" in r.stdout  # no TLS 1.1 session


def test_certificate_swap_on_sighup(server):
    old = socket.create_connection(("127.0.0.1", server.ports["smtps"]), timeout=5)
    ctx = server.server_hostname_context()
    old_tls = ctx.wrap_socket(old)
    assert old_tls.recv(200).startswith(b"220")
    before = old_tls.getpeercert(binary_form=True)
    for p in (server.cert, server.key):
        os.unlink(p)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=mail.example.test", "-addext", "subjectAltName=DNS:mail.example.test",
                    "-days", "30", "-keyout", server.key, "-out", server.cert], check=True, capture_output=True)
    run_as_owner(server.cert)
    run_as_owner(server.key)
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_log(r"reload done")
    new_der = ssl.PEM_cert_to_DER_cert(open(server.cert).read())
    with socket.create_connection(("127.0.0.1", server.ports["smtps"]), timeout=5) as raw:
        with ssl.create_default_context(cafile=server.cert).wrap_socket(raw, server_hostname="mail.example.test") as t:
            assert t.getpeercert(binary_form=True) == new_der
    assert new_der != before
    old_tls.sendall(b"NOOP\r\n")  # the established session keeps working
    assert old_tls.recv(200).startswith(b"250")
    old_tls.close()


def test_failed_reload_keeps_serving(server):
    server.set("limits", "max_line_length", "1")  # invalid
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_log(r"reload failed")
    s = server.smtp("mx")
    assert s.noop()[0] == 250
    s.quit()


# ---------- limits and bans ----------

def read_greeting(port, source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    try:
        return s, s.recv(200)
    except (ConnectionResetError, socket.timeout):
        return s, b""


def test_per_ip_connection_cap(instance):
    instance.set("limits", "max_connections_per_ip", "3")
    instance.start()
    port = instance.ports["mx"]
    held = [read_greeting(port, "127.0.0.2") for _ in range(3)]
    assert all(g.startswith(b"220") for _, g in held)
    s, g = read_greeting(port, "127.0.0.2")
    assert not g.startswith(b"220")
    assert g.startswith(b"421 4.7.0") or g == b""
    s.close()
    other, g = read_greeting(port, "127.0.0.3")  # other clients are not affected
    assert g.startswith(b"220")
    other.close()
    held[0][0].close()

    def greeted():
        s, g = read_greeting(port, "127.0.0.2")
        s.close()
        return g.startswith(b"220")

    assert wait_for(greeted, timeout=5), "a closed connection must free its slot"
    for s, _ in held[1:]:
        s.close()


def fail_login(inst, source):
    """Exactly one failed AUTH PLAIN (smtplib's login() would try LOGIN too)."""
    s = inst.smtps(source=source)
    s.ehlo("client.example.org")
    token = base64.b64encode(b"\0alice@example.test\0Not-The-Password-9").decode()
    code, _ = s.docmd("AUTH", "PLAIN " + token)
    assert code == 535
    s.close()


def banned(inst, source):
    """True when a new connection from `source` gets no greeting."""
    s, g = read_greeting(inst.ports["submission"], source)
    s.close()
    return not g.startswith(b"220")


def test_ban_after_failures_survives_restart_and_lifts_live(instance):
    instance.set("limits", "auth_failures_before_ban", "3")
    instance.add_user("alice@example.test")
    instance.start()
    src = "127.0.0.5"
    for _ in range(3):
        fail_login(instance, src)
    assert banned(instance, src)
    assert not banned(instance, "127.0.0.6")
    assert src in instance.cli("ban", "list").stdout
    assert instance.wait_log(rf"ban ip={src}")

    instance.stop()
    instance.start()
    assert banned(instance, src), "ban must survive a restart"

    assert instance.cli("ban", "remove", src).returncode == 0
    assert wait_for(lambda: not banned(instance, src), timeout=6, step=0.2), \
        "ban remove must reach the running server"
    assert instance.cli("ban", "remove", src).returncode != 0


def test_auth_log_lines_and_no_secrets(server):
    secret = "Not-The-Password-9"
    s = server.smtps(source="127.0.0.7")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login("alice@example.test", secret)
    s.close()
    s = server.smtps(source="127.0.0.7")
    s.login("alice@example.test", PASSWORD)
    s.quit()
    assert server.wait_log(r"auth ok .*ip=127\.0\.0\.7 user=alice@example\.test")
    log = server.log()
    assert "auth failed" in log and "ip=127.0.0.7" in log and "user=alice@example.test" in log
    assert secret not in log and PASSWORD not in log
    assert "connect session=" in log and "tls session=" in log


# ---------- live directory changes ----------

def test_live_server_sees_directory_changes(server):
    server.add_user("late@example.test")
    s = server.submission_tls()
    s.login("late@example.test", PASSWORD)
    s.quit()
    server.cli("user", "disable", "late@example.test", check=True)
    s = server.submission_tls()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login("late@example.test", PASSWORD)
    s.close()


# ---------- other listeners ----------

def test_managesieve_listener_greets_with_its_capabilities(server):
    s = socket.create_connection(("127.0.0.1", server.ports["managesieve"]), timeout=5)
    data = b""
    while not re.search(rb"(^|\r\n)OK[^\r\n]*\r\n$", data):
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    s.close()
    assert data.startswith(b'"IMPLEMENTATION" ') and b'"SIEVE" ' in data and b'"STARTTLS"' in data


def test_graceful_stop_with_idle_client(server):
    s, g = read_greeting(server.ports["mx"])
    assert g.startswith(b"220")
    t = time.time()
    server.stop()
    assert time.time() - t < 10
    s.close()
