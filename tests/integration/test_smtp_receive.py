"""Issue 3: SMTP receiving on MX, submission and SMTPS; restrictions; durable delivery."""
import base64
import os
import signal
import smtplib
import subprocess
import threading

import pytest

from conftest import PASSWORD, Raw, wait_for

MSG = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"


@pytest.fixture
def mx(instance):
    # These tests check what receiving puts into the queue; the delivery
    # engine (test_outbound.py) would deliver or bounce it meanwhile.
    instance.set("delivery", "enabled", "false")
    instance.add_user("alice@example.test")
    instance.add_user("bob@example.test")
    return instance


def start(inst):
    inst.start()
    return inst


def last_line(reply):
    return reply.split(b"\r\n")[-1]


# ---------- delivery ----------

def test_mx_delivers_to_maildir_with_received_header(mx):
    start(mx)
    s = mx.smtp("mx")
    s.sendmail("sender@example.org", ["bob@example.test"], MSG)
    s.quit()
    msgs = mx.messages("bob@example.test")
    assert len(msgs) == 1
    assert msgs[0].startswith(b"Received: from client.example.org ([127.0.0.1])\r\n\tby mail.example.test (Mailfort)")
    assert b"for <bob@example.test>" in msgs[0]
    assert msgs[0].endswith(MSG)
    assert not os.listdir(os.path.join(mx.maildir("bob@example.test"), "tmp"))


def test_mx_over_starttls_records_tls_in_received(mx):
    start(mx)
    s = mx.smtp("mx")
    s.starttls(context=mx.server_hostname_context())
    s.sendmail("sender@example.org", ["bob@example.test"], MSG)
    s.quit()
    (m,) = mx.messages("bob@example.test")
    assert b"with ESMTPS" in m and b"(using TLSv1.3 with cipher" in m


def test_submission_and_smtps_send_local_and_remote(mx):
    start(mx)
    s = mx.submission_tls()
    s.login("alice@example.test", PASSWORD)
    refused = s.sendmail("alice@example.test", ["bob@example.test", "friend@remote.example"], MSG)
    assert refused == {}
    s.quit()
    s = mx.smtps()
    s.login("alice@example.test", PASSWORD)
    s.sendmail("alice@example.test", ["bob@example.test"], MSG)
    s.quit()
    assert len(mx.messages("bob@example.test")) == 2
    q = mx.cli("queue", "list")
    assert q.returncode == 0 and "friend@remote.example" in q.stdout and "alice@example.test" in q.stdout


def test_swaks_submission(mx):
    start(mx)
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{mx.ports['submission']}", "--tls", "--auth", "LOGIN",
                        "--auth-user", "alice@example.test", "--auth-password", PASSWORD,
                        "--from", "alice@example.test", "--to", "bob@example.test", "--header", "Subject: swaks"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    assert b"Subject: swaks" in mx.messages("bob@example.test")[0]


def test_aliases_catch_all_tags_and_dedup(mx):
    mx.cli("alias", "add", "team@example.test", "alice@example.test", check=True)
    mx.cli("alias", "add", "team@example.test", "bob@example.test", check=True)
    mx.cli("alias", "add", "@example.test", "alice@example.test", check=True)
    start(mx)
    s = mx.smtp("mx")
    s.sendmail("sender@example.org", ["team@example.test", "bob+news@example.test", "alice@example.test"], MSG)
    s.sendmail("sender@example.org", ["whoever@example.test"], MSG)
    s.quit()
    assert len(mx.messages("alice@example.test")) == 2  # team + alice once, then catch-all
    assert len(mx.messages("bob@example.test")) == 1    # team + bob+news once


def test_submission_header_privacy_and_missing_headers(mx):
    start(mx)
    s = mx.submission_tls()
    s.login("alice@example.test", PASSWORD)
    body = (b"Received: from laptop.home (10.1.2.3)\r\nX-Originating-IP: [10.1.2.3]\r\nUser-Agent: Thunder/1\r\n"
            b"X-Mailer: Foo\r\nSubject: private\r\n\r\nbody\r\n")
    s.sendmail("alice@example.test", ["bob@example.test"], body)
    s.quit()
    (m,) = mx.messages("bob@example.test")
    header = m.split(b"\r\n\r\n")[0]
    for gone in (b"10.1.2.3", b"User-Agent", b"X-Mailer", b"laptop.home", b"127.0.0.1"):
        assert gone not in header
    assert b"Message-ID: <" in header and b"\r\nDate: " in header
    assert header.startswith(b"Received: by mail.example.test (Mailfort) with ESMTPSA")


# ---------- restrictions ----------

@pytest.mark.parametrize("rcpt,code", [
    (b"<user%remote.example@example.test>", b"550 5.1.1"),
    (b"<@relay.example:user@remote.example>", b"554 5.7.1"),
    (b"<\"user@remote.example\"@example.test>", b"550 5.1.1"),
    (b"<user@remote.example@example.test>", b"501 5.1.3"),
    (b"<user@[127.0.0.1]>", b"554 5.7.1"),
    (b"<user@remote.example>", b"554 5.7.1"),
    (b"<remote.example!user@example.test>", b"550 5.1.1"),
])
def test_open_relay_battery_on_mx(mx, rcpt, code):
    start(mx)
    c = Raw(mx.ports["mx"])
    assert c.cmd(b"EHLO client.example.org").startswith(b"250")
    assert c.cmd(b"MAIL FROM:<sender@example.org>").startswith(b"250")
    assert c.cmd(b"RCPT TO:" + rcpt).startswith(code)
    c.close()


def test_no_unauthenticated_relay_on_any_listener(mx):
    start(mx)
    s = mx.submission_tls()
    code, msg = s.mail("alice@example.test")
    assert code == 530
    s.close()
    s = mx.smtps()
    s.ehlo("client.example.org")
    assert s.mail("alice@example.test")[0] == 530
    s.close()
    s = mx.smtp("submission")
    s.ehlo("client.example.org")
    assert s.mail("alice@example.test")[0] == 530  # TLS first
    s.close()


def test_mx_helo_sender_recipient_checks(mx):
    start(mx)
    c = Raw(mx.ports["mx"])
    assert c.cmd(b"MAIL FROM:<a@example.org>").startswith(b"503 5.5.1")
    assert c.cmd(b"EHLO localhost").startswith(b"504 5.5.2")
    assert c.cmd(b"EHLO bad_name!").startswith(b"501 5.5.4")
    assert c.cmd(b"EHLO client.example.org").startswith(b"250")
    assert c.cmd(b"MAIL FROM:<a@localhost>").startswith(b"504 5.5.2")
    assert c.cmd(b"MAIL FROM:<a@example.org>").startswith(b"250")
    assert c.cmd(b"RCPT TO:<bob@localhost>").startswith(b"504 5.5.2")
    assert c.cmd(b"RCPT TO:<nobody@example.test>").startswith(b"550 5.1.1")
    assert c.cmd(b"RCPT TO:<bob@example.test>").startswith(b"250 2.1.5")
    assert c.cmd(b"RSET").startswith(b"250")
    assert c.cmd(b"RCPT TO:<bob@example.test>").startswith(b"503 5.5.1")
    assert c.cmd(b"VRFY bob").startswith(b"502")
    c.close()


def test_send_only_and_disabled_accounts_receive_nothing(mx):
    mx.add_user("robot@example.test", PASSWORD, "--send-only")
    mx.add_user("gone@example.test")
    mx.cli("user", "disable", "gone@example.test", check=True)
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    assert c.cmd(b"RCPT TO:<robot@example.test>").startswith(b"550 5.2.1")
    assert c.cmd(b"RCPT TO:<gone@example.test>").startswith(b"550 5.2.1")
    c.close()
    s = mx.submission_tls()
    s.login("robot@example.test", PASSWORD)  # send-only may log in and send
    s.sendmail("robot@example.test", ["bob@example.test"], MSG.replace(b"From: alice@", b"From: robot@"))
    s.quit()


def test_domain_requiring_tls(mx):
    mx.cli("domain", "require-tls", "example.test", "on", check=True)
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    r = c.cmd(b"RCPT TO:<bob@example.test>")
    assert r.startswith(b"530 5.7.0") and b"requires TLS" in r
    c.close()
    s = mx.smtp("mx")
    s.starttls(context=mx.server_hostname_context())
    s.sendmail("a@example.org", ["bob@example.test"], MSG)
    s.quit()


def test_sender_spoofing_refused_on_submission(mx):
    mx.cli("alias", "add", "sales@example.test", "alice@example.test", check=True)
    start(mx)
    s = mx.submission_tls()
    s.login("alice@example.test", PASSWORD)
    code, msg = s.mail("bob@example.test")
    assert code == 553 and msg.startswith(b"5.7.1")
    s.rset()
    assert s.mail("sales@example.test")[0] == 250  # an alias pointing to alice
    s.rset()
    assert s.mail("Alice@Example.TEST")[0] == 250
    s.quit()


def test_recipient_limit(mx):
    mx.set("smtp", "max_recipients", "2")
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    assert c.cmd(b"RCPT TO:<alice@example.test>").startswith(b"250")
    assert c.cmd(b"RCPT TO:<bob@example.test>").startswith(b"250")
    assert c.cmd(b"RCPT TO:<bob+x@example.test>").startswith(b"452 4.5.3")
    c.close()


def test_quota_at_rcpt_and_end_of_data(mx):
    mx.add_user("small@example.test", PASSWORD, "--quota", "1")
    start(mx)
    s = mx.smtp("mx")
    big = MSG + (b"x" * 998 + b"\r\n") * 700
    s.sendmail("a@example.org", ["small@example.test"], big)  # 0.7 MB of 1 MB
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("a@example.org", ["small@example.test"], big)  # would exceed: refused at end of data
    assert e.value.smtp_code == 552 and e.value.smtp_error.startswith(b"5.2.2")
    s.sendmail("a@example.org", ["small@example.test"], MSG + (b"y" * 998 + b"\r\n") * 250)  # 0.95 MB: fits
    s.quit()
    # Mail that arrived some other way (another tool filled the Maildir):
    # after a restart the mailbox is over quota and RCPT is refused.
    mx.stop()
    extra = os.path.join(mx.maildir("small@example.test"), "new", "1.M1P1.other,S=200000")
    with open(extra, "wb") as f:
        f.write(b"Subject: filler\r\n\r\n" + b"z" * 199_980)
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    assert c.cmd(b"RCPT TO:<small@example.test>").startswith(b"452 4.2.2")
    c.close()
    assert len(mx.messages("small@example.test")) == 3


# ---------- hostile input ----------

@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n"])
def test_smtp_smuggling_variants_are_refused(mx, fake_end):
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    assert c.cmd(b"DATA").startswith(b"354")
    c.send(b"Subject: x\r\n\r\nhello" + fake_end + b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.test>\r\n"
           b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
    r = c.reply()
    assert r.startswith(b"550 5.6.0"), r
    assert c.cmd(b"NOOP").startswith(b"250")  # still in sync: the smuggled commands were message text
    c.close()
    assert mx.messages("alice@example.test") == []
    assert mx.messages("bob@example.test") == []


def test_bare_cr_and_lf_in_commands(mx):
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    assert c.cmd(b"NOOP\rMAIL FROM:<a@example.org>").startswith(b"500 5.5.2")
    c.send(b"NOOP\n")
    assert c.reply().startswith(b"500 5.5.2")
    assert c.cmd(b"NOOP").startswith(b"250")
    c.close()


def test_overlong_line_and_huge_data(mx):
    mx.set("smtp", "max_message_size", "100000")
    start(mx)
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    assert c.cmd(b"NOOP " + b"x" * 100_000).startswith(b"500 5.5.2")
    assert c.cmd(b"NOOP").startswith(b"250")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    assert c.cmd(b"DATA").startswith(b"354")
    for _ in range(100):
        c.send(b"y" * 10_000 + b"\r\n")
    c.send(b".\r\n")
    assert c.reply().startswith(b"552 5.3.4")
    assert c.cmd(b"NOOP").startswith(b"250")
    c.close()
    assert mx.messages("bob@example.test") == []
    s = mx.smtp("mx")
    s.ehlo("client.example.org")
    code, _ = s.docmd("MAIL", "FROM:<a@example.org> SIZE=200000")
    assert code == 552
    s.close()


def test_early_talker_is_refused(mx):
    mx.set("smtp", "greet_pause_ms", "300")
    start(mx)
    c = Raw(mx.ports["mx"], greeting=False)
    c.send(b"EHLO spambot.example.org\r\n")
    assert c.reply().startswith(b"554 5.5.0")
    c.close()
    c = Raw(mx.ports["mx"])  # a polite client is served
    assert c.cmd(b"EHLO client.example.org").startswith(b"250")
    c.close()


def test_pipelining_allowed_after_ehlo_but_not_past_data(mx):
    start(mx)
    c = Raw(mx.ports["mx"])
    assert b"PIPELINING" in c.cmd(b"EHLO client.example.org")
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    assert c.reply().startswith(b"250") and c.reply().startswith(b"250") and c.reply().startswith(b"250")
    assert c.reply().startswith(b"354")
    c.send(b"From: a@example.org\r\nSubject: p\r\n\r\npipelined\r\n.\r\nQUIT\r\n")
    assert c.reply().startswith(b"250 2.0.0")
    assert c.reply().startswith(b"221")
    c.close()
    assert len(mx.messages("bob@example.test")) == 1
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    c.send(b"DATA\r\nSubject: early\r\n\r\ntoo soon\r\n.\r\n")
    assert c.reply().startswith(b"554 5.5.0")
    c.close()
    c = Raw(mx.ports["mx"])
    c.send(b"EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n")  # before knowing PIPELINING
    assert c.reply().startswith(b"554 5.5.0")
    c.close()
    assert len(mx.messages("bob@example.test")) == 1


def test_starttls_plaintext_injection_is_discarded(mx):
    start(mx)
    c = Raw(mx.ports["submission"])
    c.cmd(b"EHLO client.example.org")
    c.send(b"STARTTLS\r\nRSET\r\n")
    assert c.reply().startswith(b"220 2.0.0")
    tls = mx.server_hostname_context().wrap_socket(c.s)
    tls.sendall(b"NOOP\r\n")
    r = tls.recv(1000)
    assert r.startswith(b"250 2.0.0 Ok\r\n") and r.count(b"\r\n") == 1  # no reply to the injected RSET
    tls.close()
    assert mx.wait_log(r"starttls-injection .* discarded=6")


@pytest.mark.parametrize("user", [b"*", b"()", b"\\'%", b"a\x00b", b"alice@example.test\x00x", b"*)(uid=*"])
def test_odd_usernames_in_auth(mx, user):
    start(mx)
    s = mx.submission_tls()
    token = base64.b64encode(b"\0" + user + b"\0" + PASSWORD.encode()).decode()
    code, _ = s.docmd("AUTH", "PLAIN " + token)
    assert code in (535, 501)
    s.close()
    s = mx.submission_tls()  # still serving
    s.login("alice@example.test", PASSWORD)
    s.quit()


# ---------- BDAT (CHUNKING) ----------

def bdat_session(mx):
    c = Raw(mx.ports["mx"])
    assert b"CHUNKING" in c.cmd(b"EHLO client.example.org")
    return c


def test_bdat_chunks_deliver(mx):
    start(mx)
    c = bdat_session(mx)
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    part1, part2 = b"From: a@example.org\r\nSubject: chunks\r\n\r\nfirst ", b"second\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert c.reply().startswith(b"250")
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    assert c.reply().startswith(b"250 2.0.0 Ok: queued")
    assert c.cmd(b"BDAT 0 LAST").startswith(b"503")  # transaction is over
    c.close()
    (m,) = mx.messages("bob@example.test")
    assert m.endswith(part1 + part2)


def test_bdat_edge_cases(mx):
    mx.set("smtp", "max_message_size", "10000")
    mx.set("inbound", "dmarc", "false")  # the empty message below has no From
    mx.set("spam", "engine", '"off"')  # nor Date, Message-ID, Subject, To: it would score as spam (Junk)
    start(mx)
    c = bdat_session(mx)
    c.send(b"BDAT 5 LAST\r\nhello")
    assert c.reply().startswith(b"503 5.5.1")  # no MAIL: chunk consumed, refused
    assert c.cmd(b"NOOP").startswith(b"250")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    c.send(b"BDAT 4\r\nabcd")
    assert c.reply().startswith(b"250")
    assert c.cmd(b"DATA").startswith(b"503")  # BDAT mixed with DATA
    c.send(b"BDAT 20000 LAST\r\n" + b"z" * 20000)  # larger than the limit
    assert c.reply().startswith(b"552 5.3.4")
    assert c.cmd(b"NOOP").startswith(b"250")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    assert c.cmd(b"BDAT 0 LAST").startswith(b"250 2.0.0")  # empty message
    assert c.cmd(b"BDAT x").startswith(b"501")
    c.close()
    assert len(mx.messages("bob@example.test")) == 1


def test_bdat_tls_torn_down_mid_chunk_stores_nothing(mx):
    start(mx)
    s = mx.smtp("mx")
    s.starttls(context=mx.server_hostname_context())
    s.ehlo("client.example.org")
    s.mail("a@example.org")
    s.rcpt("bob@example.test")
    s.send(b"BDAT 100000 LAST\r\n" + b"q" * 5000)
    port = s.sock.getsockname()[1]
    s.close()  # socket and reader: the connection goes (s.sock.close() alone left it open)
    assert mx.wait_disconnect(port), mx.log()[-2000:]  # the session is over: whatever it stores, it has
    assert mx.messages("bob@example.test") == []
    c = Raw(mx.ports["mx"])  # server fine
    assert c.cmd(b"EHLO client.example.org").startswith(b"250")
    c.close()


# ---------- durability ----------

def test_crash_loses_nothing_that_got_250(mx):
    start(mx)
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n):
        for i in range(200):
            if stop.is_set():
                return
            tag = f"crash-{n}-{i}"
            try:
                s = smtplib.SMTP("127.0.0.1", mx.ports["mx"], local_hostname="client.example.org", timeout=5)
                s.sendmail("a@example.org", ["bob@example.test"], f"From: a@example.org\r\nSubject: {tag}\r\n\r\n{tag}\r\n".encode())
                with lock:
                    acked.append(tag)
                s.quit()
            except (smtplib.SMTPException, OSError):
                return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    # Killed under load: once some messages are acknowledged, the clients
    # keep others in flight.
    assert wait_for(lambda: len(acked) > 40, timeout=30), "the load did not get going"
    mx.kill()
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert len(acked) > 10, "the load did not get going"
    mx.start()  # restart cleans tmp/
    msgs = mx.messages("bob@example.test")
    subjects = [m.split(b"Subject: ")[1].split(b"\r\n")[0].decode() for m in msgs]
    for tag in acked:
        assert subjects.count(tag) == 1, f"{tag} acknowledged but found {subjects.count(tag)} times"
    assert len(subjects) == len(set(subjects))
    for m in msgs:
        assert m.endswith(b"\r\n") and b"Subject: crash-" in m  # no half-written message is visible
    assert not os.listdir(os.path.join(mx.maildir("bob@example.test"), "tmp"))


def test_trusted_network_may_relay_without_auth(mx):
    mx.set("smtp", "trusted_networks", '["127.0.0.9/32"]')
    start(mx)
    c = Raw(mx.ports["mx"], source="127.0.0.9")
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<app@example.test>")
    assert c.cmd(b"RCPT TO:<someone@remote.example>").startswith(b"250")
    c.close()
    c = Raw(mx.ports["mx"], source="127.0.0.10")
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<app@example.test>")
    assert c.cmd(b"RCPT TO:<someone@remote.example>").startswith(b"554 5.7.1")
    c.close()


def test_server_wide_message_memory_budget(mx):
    mx.set("smtp", "max_inflight_message_bytes", str(1024 * 1024))
    start(mx)
    big = MSG + (b"m" * 998 + b"\r\n") * 1500  # 1.5 MB: under the size limit, over the memory budget
    c = Raw(mx.ports["mx"])
    c.cmd(b"EHLO client.example.org")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    assert c.cmd(b"DATA").startswith(b"354")
    c.send(big + b".\r\n")
    assert c.reply().startswith(b"452 4.3.1")
    c.cmd(b"MAIL FROM:<a@example.org>")
    c.cmd(b"RCPT TO:<bob@example.test>")
    c.send(b"BDAT %d LAST\r\n" % len(big) + big)
    assert c.reply().startswith(b"452 4.3.1")
    assert c.cmd(b"NOOP").startswith(b"250")
    c.close()
    s = mx.smtp("mx")  # small messages still flow, the budget was released
    s.sendmail("a@example.org", ["bob@example.test"], MSG)
    s.quit()
    assert len(mx.messages("bob@example.test")) == 1
