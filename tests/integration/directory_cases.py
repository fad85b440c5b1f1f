"""Issue 15: the directory on a database server, the guide's vmail schema as
it is. The tests are written once here and run on MariaDB
(test_directory_mysql.py) and PostgreSQL (test_directory_postgresql.py):
those modules define the `engine` fixture ("mysql" or "postgresql") and
import everything from here.

Every test works in a database of its own on the run's shared server
(dbservers.py), made as the guide's admin makes it: the guide's four CREATE
TABLE statements (verbatim on MariaDB; the same tables, columns and types
written for PostgreSQL), then rows inserted with the database's client as
the guide inserts them, with `doveadm pw -s SHA512-CRYPT` hashes. Mailfort is
pointed at it through [directory] backend/url/password_file.
"""
import functools
import hashlib
import imaplib
import re
import smtplib
import socket
import subprocess

import pytest

from conftest import PASSWORD, Instance, add_users, close_all, wait_for
from dbservers import ENGINES

# ---------------------------------------------------------------- schema

# The guide's CREATE TABLE statements, verbatim
# (seeds/003, "Domain-Tabelle" ... "TLS Policy-Tabelle").
GUIDE_MYSQL = """\
CREATE TABLE `domains` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `domain` varchar(255) NOT NULL,
    PRIMARY KEY (`id`),
    UNIQUE KEY (`domain`)
);

CREATE TABLE `accounts` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `username` varchar(64) NOT NULL,
    `domain` varchar(255) NOT NULL,
    `password` varchar(255) NOT NULL,
    `quota` int unsigned DEFAULT '0',
    `enabled` boolean DEFAULT '0',
    `sendonly` boolean DEFAULT '0',
    PRIMARY KEY (id),
    UNIQUE KEY (`username`, `domain`),
    FOREIGN KEY (`domain`) REFERENCES `domains` (`domain`)
);

CREATE TABLE `aliases` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `source_username` varchar(64) NOT NULL,
    `source_domain` varchar(255) NOT NULL,
    `destination_username` varchar(64) NOT NULL,
    `destination_domain` varchar(255) NOT NULL,
    `enabled` boolean DEFAULT '0',
    PRIMARY KEY (`id`),
    UNIQUE KEY (`source_username`, `source_domain`, `destination_username`, `destination_domain`),
    FOREIGN KEY (`source_domain`) REFERENCES `domains` (`domain`)
);

CREATE TABLE `tlspolicies` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `domain` varchar(255) NOT NULL,
    `policy` enum('none', 'may', 'encrypt', 'dane', 'dane-only', 'fingerprint', 'verify', 'secure') NOT NULL,
    `params` varchar(255),
    PRIMARY KEY (`id`),
    UNIQUE KEY (`domain`)
);
"""

# The same tables for PostgreSQL: names, columns, defaults, keys; int
# unsigned as integer with a CHECK, MySQL's enum as a CHECK list.
GUIDE_POSTGRESQL = """\
CREATE TABLE domains (
    id serial PRIMARY KEY,
    domain varchar(255) NOT NULL,
    UNIQUE (domain)
);

CREATE TABLE accounts (
    id serial PRIMARY KEY,
    username varchar(64) NOT NULL,
    domain varchar(255) NOT NULL,
    password varchar(255) NOT NULL,
    quota integer DEFAULT 0 CHECK (quota >= 0),
    enabled boolean DEFAULT false,
    sendonly boolean DEFAULT false,
    UNIQUE (username, domain),
    FOREIGN KEY (domain) REFERENCES domains (domain)
);

CREATE TABLE aliases (
    id serial PRIMARY KEY,
    source_username varchar(64) NOT NULL,
    source_domain varchar(255) NOT NULL,
    destination_username varchar(64) NOT NULL,
    destination_domain varchar(255) NOT NULL,
    enabled boolean DEFAULT false,
    UNIQUE (source_username, source_domain, destination_username, destination_domain),
    FOREIGN KEY (source_domain) REFERENCES domains (domain)
);

CREATE TABLE tlspolicies (
    id serial PRIMARY KEY,
    domain varchar(255) NOT NULL,
    policy varchar(16) NOT NULL CHECK (policy IN ('none', 'may', 'encrypt', 'dane', 'dane-only',
                                                   'fingerprint', 'verify', 'secure')),
    params varchar(255),
    UNIQUE (domain)
);
"""

GUIDE_TABLES = ["accounts", "aliases", "domains", "tlspolicies"]
MAILFORT_TABLES = ["mailfort_access", "mailfort_account_settings", "mailfort_domain_settings"]

USER1 = "user1@example.test"
SENDER = "sender@example.test"      # sendonly = true
GONE = "gone@example.test"          # enabled = false
ALIAS = "alias@example.test"        # -> user1
OFF_ALIAS = "off-alias@example.test"  # -> user1, enabled = false
CATCHALL_DOMAIN = "catchall.test"   # '' @catchall.test -> user1


@functools.lru_cache(maxsize=None)
def doveadm_hash(password):
    """{SHA512-CRYPT}$6$... as the guide makes it (`doveadm pw -s SHA512-CRYPT`)."""
    r = subprocess.run(["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", password], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("{SHA512-CRYPT}$6$"), r.stdout + r.stderr
    return r.stdout.strip()


def guide_rows(password=PASSWORD):
    """The rows, as the guide's admin types them ("Neue Domain anlegen" ...)."""
    h = doveadm_hash(password)
    return f"""
insert into domains (domain) values ('example.test');
insert into domains (domain) values ('{CATCHALL_DOMAIN}');
insert into accounts (username, domain, password, quota, enabled, sendonly) values ('user1', 'example.test', '{h}', 2048, true, false);
insert into accounts (username, domain, password, quota, enabled, sendonly) values ('sender', 'example.test', '{h}', 2048, true, true);
insert into accounts (username, domain, password, quota, enabled, sendonly) values ('gone', 'example.test', '{h}', 2048, false, false);
insert into aliases (source_username, source_domain, destination_username, destination_domain, enabled) values ('alias', 'example.test', 'user1', 'example.test', true);
insert into aliases (source_username, source_domain, destination_username, destination_domain, enabled) values ('off-alias', 'example.test', 'user1', 'example.test', false);
insert into aliases (source_username, source_domain, destination_username, destination_domain, enabled) values ('', '{CATCHALL_DOMAIN}', 'user1', 'example.test', true);
"""


def toml(s):
    """A TOML basic string (JSON's escapes are TOML's for these)."""
    import json
    return json.dumps(s, ensure_ascii=False)


def use_server_directory(inst, engine, server, database, cache_seconds=None, socket=False, queries=None):
    """Points `inst`'s [directory] at `database` on `server`."""
    inst.set("directory", "backend", toml(engine))
    inst.set("directory", "url", toml(server.url(database, socket=socket)))
    inst.set("directory", "password_file", toml(server.password_file))
    inst.set("directory", "connect_timeout_seconds", "3")
    if cache_seconds is not None:
        inst.set("directory", "cache_seconds", str(cache_seconds))
    for key, text in (queries or {}).items():
        inst.set("directory.queries", key, toml(text))


def database_name(request):
    """A database name unique to the test (its node id), readable in a listing."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    short = re.sub(r"\W", "_", request.node.name)[:28]
    return f"{short}_{digest}"


class Env:
    """One test's database and Mailfort instance."""

    def __init__(self, engine, server, db, inst, dns):
        self.engine, self.server, self.db, self.inst, self.dns = engine, server, db, inst, dns

    def sql(self, statement):
        return self.server.sql(statement, database=self.db)

    def script(self, text):
        return self.server.script(text, database=self.db)

    def guide_schema(self):
        self.script(GUIDE_MYSQL if self.engine == "mysql" else GUIDE_POSTGRESQL)

    def configure(self, inst=None, **kw):
        use_server_directory(inst or self.inst, self.engine, self.server, self.db, **kw)

    def init_schema(self, inst=None):
        r = (inst or self.inst).cli("directory", "init-schema")
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    def definitions(self, tables=GUIDE_TABLES):
        return {t: self.server.table_definition(t, self.db) for t in tables}

    def dump(self, tables=GUIDE_TABLES):
        """Every row of `tables`, as text, in a stable order."""
        return {t: sorted(self.sql(f"SELECT * FROM {t}"), key=repr) for t in tables}


@pytest.fixture
def env(engine, request, instance, dns):
    """The guide's tables and rows in a fresh database, Mailfort's
    mailfort_* tables created by `init-schema`, the instance configured (not
    started)."""
    e = bare_env(engine, request, instance, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.configure()
    e.init_schema()
    return e


def bare_env(engine, request, instance, dns):
    _, _, fixture = ENGINES[engine]
    server = request.getfixturevalue(fixture)
    db = server.create_database(database_name(request))
    request.addfinalizer(lambda: server.drop_database(db) if not _failed(request) else None)
    return Env(engine, server, db, instance, dns)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


# --------------------------------------------------------------- clients

def imap(inst, host=None):
    m = imaplib.IMAP4(host or inst.hosts.get("imap", "127.0.0.1"), inst.ports["imap"])
    m.starttls(ssl_context=inst.server_hostname_context())
    return m


def imap_login(inst, user, password=PASSWORD):
    """An IMAP session logged in as `user` (STARTTLS on the imap listener)."""
    m = imap(inst)
    m.login(user, password)
    return m


def imap_login_fails(inst, user, password=PASSWORD):
    """The tagged NO text of a refused LOGIN (raises if it was accepted)."""
    m = imap(inst)
    try:
        with pytest.raises(imaplib.IMAP4.error) as e:
            m.login(user, password)
        return str(e.value)
    finally:
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def smtp_auth(inst, user, password=PASSWORD):
    """Submission with STARTTLS and AUTH: the session, or raises SMTPAuthenticationError."""
    s = inst.submission_tls()
    s.login(user, password)
    return s


def mx_send(inst, rcpts, subject, sender="someone@sender.example", source="127.0.0.1"):
    """One message over the MX: {} when every recipient was taken, else
    smtplib's refusals; raises SMTPRecipientsRefused when none was."""
    s = inst.smtp("mx", source=source)
    try:
        return s.sendmail(sender, list(rcpts),
                          f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n")
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def rcpt_reply(inst, rcpt, sender="someone@sender.example", smtputf8=False):
    """The reply (code, text) to RCPT TO:<rcpt> on the MX (raw bytes, so any
    address can be tried), and whether the session still answers after it."""
    s = socket.create_connection((inst.hosts.get("mx", "127.0.0.1"), inst.ports["mx"]), timeout=20)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline()
            if not line:
                return None, b"".join(lines)
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), b"".join(lines)

    def cmd(line):
        s.sendall(line + b"\r\n")
        return reply()

    try:
        assert reply()[0] == 220
        assert cmd(b"EHLO client.example.org")[0] == 250
        code, _ = cmd(b"MAIL FROM:<" + sender.encode() + b">" + (b" SMTPUTF8" if smtputf8 else b""))
        assert code == 250, code
        code, text = cmd(b"RCPT TO:<" + rcpt.encode("utf-8") + b">")
        alive = cmd(b"RSET")[0] == 250
        cmd(b"QUIT")
        return code, text.decode("utf-8", "replace"), alive
    finally:
        s.close()


def inbox_subjects(inst, user, password=PASSWORD):
    m = imap_login(inst, user, password)
    try:
        typ, _ = m.select("INBOX")
        assert typ == "OK"
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        if typ != "OK":
            return []
        return [re.sub(r"^Subject:\s*", "", part[1].decode().strip(), flags=re.I)
                for part in data if isinstance(part, tuple)]
    except imaplib.IMAP4.error:
        return []  # an empty mailbox: FETCH 1:* is BAD
    finally:
        m.logout()


def wait_subject(inst, user, subject, timeout=15):
    return wait_for(lambda: subject in inbox_subjects(inst, user), timeout=timeout, step=0.2)


# ----------------------------------------------------------------- tests

def test_guide_database_works_without_init_schema(engine, request, instance, dns):
    """"Point Mailfort at the existing vmail database ... with no
    migration": the guide's tables and rows only, nothing else created."""
    e = bare_env(engine, request, instance, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.configure()
    e.inst.start()
    m = imap_login(e.inst, USER1)
    m.logout()
    assert mx_send(e.inst, [USER1], "no-migration") == {}
    assert wait_subject(e.inst, USER1, "no-migration")
    code, _, _ = rcpt_reply(e.inst, "nobody@example.test")
    assert code == 550
    assert e.server.tables(e.db) == GUIDE_TABLES  # Mailfort created nothing on its own


def test_init_schema_print_changes_nothing_then_creates_mailfort_tables_beside_the_guides(engine, request,
                                                                                         instance, dns):
    e = bare_env(engine, request, instance, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.configure()
    defs, rows = e.definitions(), e.dump()
    assert e.server.tables(e.db) == GUIDE_TABLES

    r = e.inst.cli("directory", "init-schema", "--print")
    assert r.returncode == 0, r.stderr
    assert "mailfort_" in r.stdout and "CREATE TABLE" in r.stdout.upper(), r.stdout
    for t in MAILFORT_TABLES:
        assert t in r.stdout, (t, r.stdout)
    assert e.server.tables(e.db) == GUIDE_TABLES, "--print must change nothing"

    e.init_schema()
    tables = e.server.tables(e.db)
    assert set(MAILFORT_TABLES) <= set(tables), tables
    assert all(t in GUIDE_TABLES or t.startswith("mailfort_") for t in tables), tables
    assert e.definitions() == defs, "the guide's tables must not be altered"
    assert e.dump() == rows

    # Idempotent.
    e.init_schema()
    assert e.server.tables(e.db) == tables
    assert e.definitions() == defs and e.dump() == rows


def test_init_schema_on_an_empty_database_creates_the_guides_tables_too(engine, request, instance, dns):
    e = bare_env(engine, request, instance, dns)
    e.configure()
    assert e.server.tables(e.db) == []
    e.init_schema()
    tables = e.server.tables(e.db)
    assert set(GUIDE_TABLES + MAILFORT_TABLES) <= set(tables), tables
    # The guide's columns, so the guide's own statements work on them.
    e.script(guide_rows())
    assert e.sql("SELECT username FROM accounts WHERE domain = 'example.test' ORDER BY username") == [
        ("gone",), ("sender",), ("user1",)]
    e.inst.start()
    imap_login(e.inst, USER1).logout()


def test_login_over_imap_and_smtp_auth_with_the_guides_hashes(env):
    env.inst.start()
    m = imap_login(env.inst, USER1)
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    assert "AUTHENTICATIONFAILED" in imap_login_fails(env.inst, USER1, "not-the-password")
    s = smtp_auth(env.inst, USER1)
    s.quit()
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        smtp_auth(env.inst, USER1, "not-the-password")
    assert e.value.smtp_code == 535
    # A send-only account logs in to send.
    smtp_auth(env.inst, SENDER).quit()


def test_delivery_to_an_account_an_alias_and_a_catch_all(env):
    env.inst.start()
    assert mx_send(env.inst, [USER1], "to-account") == {}
    assert mx_send(env.inst, [ALIAS], "to-alias") == {}
    assert mx_send(env.inst, [f"anything@{CATCHALL_DOMAIN}"], "to-catch-all") == {}
    assert wait_subject(env.inst, USER1, "to-catch-all")
    subjects = inbox_subjects(env.inst, USER1)
    assert {"to-account", "to-alias", "to-catch-all"} <= set(subjects), subjects
    # Unknown in a domain without a catch-all, a disabled alias, another domain.
    for rcpt in ("nobody@example.test", OFF_ALIAS):
        code, text, alive = rcpt_reply(env.inst, rcpt)
        assert code == 550 and alive, (rcpt, text)
    code, text, _ = rcpt_reply(env.inst, "x@not-ours.test")
    assert code is not None and 500 <= code < 600, text  # no relaying


def test_send_only_and_disabled_accounts_are_refused(env):
    env.inst.start()
    code, text, alive = rcpt_reply(env.inst, SENDER)
    assert code == 550 and alive, text
    code, text, alive = rcpt_reply(env.inst, GONE)
    assert code == 550 and alive, text
    assert "AUTHENTICATIONFAILED" in imap_login_fails(env.inst, GONE)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        smtp_auth(env.inst, GONE)
    assert e.value.smtp_code == 535
    # Enabled with the client: live within cache_seconds (default 10).
    env.sql("update accounts set enabled = true where username = 'gone' and domain = 'example.test'")
    assert wait_for(lambda: rcpt_reply(env.inst, GONE)[0] == 250, timeout=20, step=0.5)
    imap_login(env.inst, GONE).logout()


def test_a_row_inserted_with_the_client_is_live_without_restart(env):
    env.configure(cache_seconds=1)
    env.inst.start()
    new = "fresh@example.test"
    code, _, _ = rcpt_reply(env.inst, new)
    assert code == 550  # and now remembered as unknown for up to cache_seconds
    assert "AUTHENTICATIONFAILED" in imap_login_fails(env.inst, new)
    env.sql("insert into accounts (username, domain, password, quota, enabled, sendonly) values "
            f"('fresh', 'example.test', '{doveadm_hash('Fresh-Password-1')}', 100, true, false)")
    env.sql("insert into aliases (source_username, source_domain, destination_username, destination_domain, "
            "enabled) values ('fresh-alias', 'example.test', 'fresh', 'example.test', true)")
    assert wait_for(lambda: rcpt_reply(env.inst, new)[0] == 250, timeout=5, step=0.2), \
        "an account inserted with the client must be live within cache_seconds"
    assert wait_for(lambda: rcpt_reply(env.inst, "fresh-alias@example.test")[0] == 250, timeout=5, step=0.2)
    imap_login(env.inst, new, "Fresh-Password-1").logout()
    # A domain too, and a deleted account goes away.
    env.sql("insert into domains (domain) values ('later.test')")
    env.sql("insert into aliases (source_username, source_domain, destination_username, destination_domain, "
            "enabled) values ('x', 'later.test', 'user1', 'example.test', true)")
    assert wait_for(lambda: rcpt_reply(env.inst, "x@later.test")[0] == 250, timeout=5, step=0.2)
    env.sql("delete from aliases where source_username = 'fresh-alias'")
    assert wait_for(lambda: rcpt_reply(env.inst, "fresh-alias@example.test")[0] == 550, timeout=5, step=0.2)


def test_cli_writes_rows_the_databases_own_tools_see(env):
    env.configure(cache_seconds=1)
    env.inst.start()
    inst = env.inst
    inst.cli("domain", "add", "cli.test", check=True)
    add_users([(inst, "made@cli.test")])
    inst.cli("user", "add", "quiet@cli.test", "--password-stdin", "--send-only", "--quota", "50",
             input=PASSWORD + "\n", check=True)
    inst.cli("alias", "add", "team@cli.test", "made@cli.test", check=True)
    inst.cli("alias", "add", "@cli.test", USER1, check=True)
    inst.cli("tls-policy", "set", "partner.test", "encrypt", check=True)

    assert ("cli.test",) in env.sql("SELECT domain FROM domains")
    rows = env.sql("SELECT username, domain, password, quota, enabled, sendonly FROM accounts "
                   "WHERE domain = 'cli.test' ORDER BY username")
    assert [(r[0], r[1]) for r in rows] == [("made", "cli.test"), ("quiet", "cli.test")], rows
    truth = ("1", "t", "true")
    made, quiet = rows
    assert made[2].startswith("{") and PASSWORD not in made[2], made  # a {SCHEME} hash
    assert made[4] in truth and made[5] not in truth, made
    assert quiet[3] == "50" and quiet[4] in truth and quiet[5] in truth, quiet
    aliases = env.sql("SELECT source_username, source_domain, destination_username, destination_domain, enabled "
                      "FROM aliases WHERE source_domain = 'cli.test' ORDER BY source_username")
    pairs = [(a[0], a[1], a[2], a[3]) for a in aliases]
    assert ("team", "cli.test", "made", "cli.test") in pairs, aliases
    assert ("", "cli.test", "user1", "example.test") in pairs, aliases  # the guide's catch-all shape
    assert all(a[4] in truth for a in aliases), aliases
    assert env.sql("SELECT domain, policy FROM tlspolicies WHERE domain = 'partner.test'") == [
        ("partner.test", "encrypt")]
    # And the running server uses them.
    imap_login(inst, "made@cli.test").logout()
    assert wait_for(lambda: rcpt_reply(inst, "team@cli.test")[0] == 250, timeout=5, step=0.2)
    assert rcpt_reply(inst, "quiet@cli.test")[0] == 550
    assert mx_send(inst, ["whoever@cli.test"], "cli-catch-all") == {}
    assert wait_subject(inst, USER1, "cli-catch-all")
    # The CLI lists what the client inserted.
    listed = inst.cli("user", "list", check=True).stdout
    assert USER1 in listed and "made@cli.test" in listed


# Recipients that reach the directory (dot-atoms, or quoted local parts
# that the SMTP layer unquotes): exactly 550 5.1.1 (unknown), found by
# nothing, not even by LIKE wildcards (user1 exists).
HOSTILE_RCPT = [
    "zq'x@example.test",
    "zq%@example.test",
    "user%@example.test",
    "use_1@example.test",
    "zqjörg@example.test",
    '"zq\\"x"@example.test',
    '"zq\\\\x"@example.test',
    "\"zq' OR '1'='1\"@example.test",
    '"zq;drop table accounts;--"@example.test',
    '"zq%_"@example.test',
    '"zq\\\\"@example.test',
]
# Unquoted, these are not addresses: any 5xx (501 syntax), the session goes on.
MALFORMED_RCPT = [
    "zq' OR '1'='1@example.test",
    "zq\\x@example.test",
    'zq"x@example.test',
    "zq@exa'mple.test",
]
# Logins (sent as IMAP literals, so any bytes): NO.
HOSTILE_LOGIN = [
    "zq'x@example.test",
    "zq' OR '1'='1@example.test",
    "zq' OR '1'='1",
    "zq%@example.test",
    "%@example.test",
    "_ser1@example.test",
    "user1@example.test' --",
    "zq\\x@example.test",
    'zq"x@example.test',
    "zq;drop table accounts;--@example.test",
    "zqjörg@example.test",
    "zq@exa'mple.test",
]


MYSQL_ENTRY = re.compile(r"^(?:\d{6}\s+\d{1,2}:\d{2}:\d{2})?\s+\d+\s+([A-Z][a-z]+(?: [a-z]+)?)\t")
PG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def _entries(text, start):
    """Log entries (a first line matching `start` and its continuation lines)."""
    out = []
    for line in text.split("\n"):
        if start.match(line) or not out:
            out.append(line)
        else:
            out[-1] += "\n" + line
    return out


def _hostile_evidence(env, since):
    """What the database server saw of the hostile strings (all contain
    "zq"): statements in which one was written into the statement's text
    rather than bound, and errors in this database."""
    if env.engine == "mysql":
        # Bound values show up only in Execute entries (the Prepare has `?`).
        entries = _entries(env.server.general_log()[since:], MYSQL_ENTRY)
        spliced = [e for e in entries if "zq" in e and not (MYSQL_ENTRY.match(e)
                                                          and MYSQL_ENTRY.match(e).group(1) == "Execute")]
        errors = []  # MariaDB does not log failed statements; the tables are compared instead
        return spliced, errors
    # PostgreSQL: bound values appear only in "DETAIL:  parameters: $1 = '...'".
    entries = [e for e in _entries(env.server.log()[since:], PG_ENTRY) if f"@{env.db} " in e]
    spliced = [e for e in entries if "zq" in e and "DETAIL:  parameters:" not in e]
    errors = [e for e in entries if re.search(r"\b(ERROR|FATAL|PANIC):", e)]
    return spliced, errors


def test_hostile_addresses_are_data_not_sql(env):
    env.configure(cache_seconds=0)
    env.inst.set("limits", "auth_failures_before_ban", "0")  # a dozen failed logins from 127.0.0.1 follow
    env.inst.start()
    tables = GUIDE_TABLES + MAILFORT_TABLES
    before = env.dump(tables)
    gl_mark = len(env.server.general_log()) if env.engine == "mysql" else 0
    log_mark = len(env.server.log())
    for rcpt in HOSTILE_RCPT:
        code, text, alive = rcpt_reply(env.inst, rcpt, smtputf8=True)
        assert code == 550 and "5.1.1" in text and alive, (rcpt, code, text)
    for rcpt in MALFORMED_RCPT:
        code, text, alive = rcpt_reply(env.inst, rcpt, smtputf8=True)
        assert code is not None and 500 <= code < 600 and alive, (rcpt, code, text)  # a refusal, not 4xx
    for login in HOSTILE_LOGIN:
        text = imap_login_fails_raw(env.inst, login, PASSWORD)
        assert re.match(r"^a1 NO ", text), (login, text)
    # user1 itself still works, and nothing changed.
    imap_login(env.inst, USER1).logout()
    assert env.dump(tables) == before
    spliced, errors = _hostile_evidence(env, gl_mark if env.engine == "mysql" else log_mark)
    assert not spliced, "values must be bound, not written into the statement:\n" + "\n".join(spliced[:10])
    assert not errors, "\n".join(errors[:10])


def imap_login_fails_raw(inst, login, password):
    """LOGIN with the login as an IMAP literal (any bytes, UTF-8 too) over
    imaps: the tagged reply line."""
    ctx = inst.server_hostname_context()
    raw = socket.create_connection((inst.hosts.get("imaps", "127.0.0.1"), inst.ports["imaps"]), timeout=20)
    s = ctx.wrap_socket(raw)
    f = s.makefile("rb")
    try:
        assert f.readline().startswith(b"* OK")
        data = login.encode("utf-8")
        s.sendall(b"a1 LOGIN {%d}\r\n" % len(data))
        line = f.readline()
        if not line.startswith(b"+"):
            return line.decode("utf-8", "replace").strip()  # refused the literal itself
        s.sendall(data + b' "' + password.encode() + b'"\r\n')
        while True:
            line = f.readline()
            if not line or line.startswith(b"a1 "):
                return line.decode("utf-8", "replace").strip()
    finally:
        s.close()


def test_outbound_mail_follows_a_tlspolicies_row(env, dns):
    """A (the database's directory) relays to B (MX on 127.0.0.3): a
    `fingerprint` row for b.test with the wrong pin holds the mail, the
    right pin (an UPDATE with the client) lets it through."""
    a = env.inst
    b = Instance(dns)
    try:
        b.listen("mx", "127.0.0.3")
        b.cli("domain", "add", "b.test", check=True)
        add_users([(b, "bob@b.test")])
        dns.add("b.test", "MX", "10 mx.b.test.")
        dns.add("mx.b.test", "A", "127.0.0.3")
        a.set("delivery", "remote_port", str(b.ports["mx"]))
        a.set("delivery", "source_address", '"127.0.0.2"')
        a.set("queue", "minimal_backoff_seconds", "3600")
        env.configure(cache_seconds=1)
        der = subprocess.run(["openssl", "x509", "-in", b.cert, "-outform", "DER"], capture_output=True,
                             check=True).stdout
        good = hashlib.sha256(der).hexdigest()
        env.sql(f"insert into tlspolicies (domain, policy, params) values ('b.test', 'fingerprint', "
                f"'match={'00' * 32}')")
        a.start()
        b.start()
        s = smtp_auth(a, USER1)
        s.sendmail(USER1, ["bob@b.test"], f"From: {USER1}\r\nTo: bob@b.test\r\nSubject: pinned\r\n\r\nbody\r\n")
        s.quit()
        queue = lambda: a.cli("queue", "list", check=True).stdout  # noqa: E731
        assert wait_for(lambda: "fingerprint does not match" in queue(), timeout=20), queue() + a.log()[-3000:]
        assert not b.messages("bob@b.test")
        env.sql(f"update tlspolicies set params = 'match={good}' where domain = 'b.test'")
        assert wait_for(lambda: (a.cli("queue", "flush"), b.messages("bob@b.test"))[1], timeout=20, step=1), \
            queue()
        assert wait_for(lambda: "b.test" not in queue(), timeout=10)
    finally:
        close_all(b)


def test_unix_socket_url(engine, request, instance, dns):
    e = bare_env(engine, request, instance, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.configure(socket=True)
    e.inst.start()
    imap_login(e.inst, USER1).logout()
    assert rcpt_reply(e.inst, ALIAS)[0] == 250


def _counts(out):
    """migrate's printed counts: {"domains": (added, present), "accounts": n, ...}."""
    got = {}
    for m in re.finditer(r"^([a-z ]+):\s+(\d+) (?:added|written)(?:, (\d+) already there)?", out, re.M):
        got[m.group(1).strip()] = (int(m.group(2)), int(m.group(3) or 0))
    return got


def test_migrate_sqlite_to_the_server_twice_then_serve_from_it(engine, request, instance, dns):
    src = instance  # SQLite, as `mailfort init` made it (domain example.test)
    src.cli("domain", "add", "second.test", check=True)
    add_users([(src, "alice@example.test"), (src, "bob@second.test")])
    src.cli("user", "add", "noreply@example.test", "--password-stdin", "--send-only", input=PASSWORD + "\n",
            check=True)
    src.cli("alias", "add", "info@example.test", "alice@example.test", check=True)
    src.cli("alias", "add", "@second.test", "bob@second.test", check=True)
    src.cli("tls-policy", "set", "partner.test", "encrypt", check=True)
    src.cli("user", "limit", "alice@example.test", "7", check=True)
    n_aliases = len([l for l in src.cli("alias", "list", check=True).stdout.split("\n")[1:] if l.strip()])

    _, _, fixture = ENGINES[engine]
    server = request.getfixturevalue(fixture)
    db = server.create_database(database_name(request))
    url = server.url(db)
    r = src.cli("directory", "migrate", "--to", url, "--password-file", server.password_file)
    assert r.returncode == 0, r.stdout + r.stderr
    c = _counts(r.stdout)
    assert c["domains"] == (2, 0) and c["accounts"][0] == 3 and c["aliases"] == (n_aliases, 0), r.stdout
    assert c["tls policies"][0] == 1, r.stdout

    def server_counts():
        return {t: int(server.sql(f"SELECT COUNT(*) FROM {t}", db)[0][0]) for t in GUIDE_TABLES}

    counts = server_counts()
    assert counts == {"domains": 2, "accounts": 3, "aliases": n_aliases, "tlspolicies": 1}, counts
    assert set(MAILFORT_TABLES) <= set(server.tables(db))
    hashes = dict(server.sql("SELECT username, password FROM accounts", db))
    assert hashes["alice"].startswith("{"), hashes  # the hash, copied

    # Twice: nothing new.
    r2 = src.cli("directory", "migrate", "--to", url, "--password-file", server.password_file)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    c2 = _counts(r2.stdout)
    assert c2["domains"] == (0, 2) and c2["aliases"] == (0, n_aliases), r2.stdout
    assert server_counts() == counts
    assert dict(server.sql("SELECT username, password FROM accounts", db)) == hashes

    # The same instance served from the server.
    use_server_directory(src, engine, server, db)
    src.start()
    imap_login(src, "alice@example.test").logout()
    assert rcpt_reply(src, "noreply@example.test")[0] == 550
    assert mx_send(src, ["info@example.test", "anyone@second.test"], "migrated") == {}
    assert wait_subject(src, "alice@example.test", "migrated")
    assert wait_subject(src, "bob@second.test", "migrated")
    assert "alice@example.test" in src.cli("user", "list", check=True).stdout
    server.drop_database(db)
