"""Issue 15: another real schema through [directory.queries]: PostfixAdmin's
`domain`, `mailbox` and `alias` tables (as PostfixAdmin creates them, on
MariaDB and on PostgreSQL), rows as PostfixAdmin writes them (the mailbox's
full address in `username`, quota in bytes, an alias row per mailbox
pointing at itself, `goto` a comma-separated list, a catch-all as the alias
address "@domain"), passwords hashed by `doveadm pw -s SHA512-CRYPT`
(PostfixAdmin's `dovecot:SHA512-CRYPT` setting)."""
import pytest

from conftest import PASSWORD
from dbservers import (MARIADB_AVAILABLE, POSTGRESQL_AVAILABLE, shared_mariadb,  # noqa: F401
                       shared_postgresql)
from directory_cases import (MAILFORT_TABLES, Env, database_name, doveadm_hash, imap_login, imap_login_fails, inbox_subjects,
                             mx_send, rcpt_reply, smtp_auth, wait_subject)
from dbservers import ENGINES

# PostfixAdmin's tables (its upgrade.php, MySQL flavour), the columns this
# needs and those it does not.
PFA_MYSQL = """\
CREATE TABLE `domain` (
  `domain` varchar(255) NOT NULL,
  `description` varchar(255) CHARACTER SET utf8 NOT NULL,
  `aliases` int(10) NOT NULL default '0',
  `mailboxes` int(10) NOT NULL default '0',
  `maxquota` bigint(20) NOT NULL default '0',
  `quota` bigint(20) NOT NULL default '0',
  `transport` varchar(255) NOT NULL,
  `backupmx` tinyint(1) NOT NULL default '0',
  `created` datetime NOT NULL default '2000-01-01 00:00:00',
  `modified` datetime NOT NULL default '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL default '1',
  PRIMARY KEY (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='Postfix Admin - Virtual Domains';

CREATE TABLE `mailbox` (
  `username` varchar(255) NOT NULL,
  `password` varchar(255) NOT NULL,
  `name` varchar(255) CHARACTER SET utf8 NOT NULL,
  `maildir` varchar(255) NOT NULL,
  `quota` bigint(20) NOT NULL default '0',
  `local_part` varchar(255) NOT NULL,
  `domain` varchar(255) NOT NULL,
  `created` datetime NOT NULL default '2000-01-01 00:00:00',
  `modified` datetime NOT NULL default '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL default '1',
  PRIMARY KEY (`username`),
  KEY `domain` (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='Postfix Admin - Virtual Mailboxes';

CREATE TABLE `alias` (
  `address` varchar(255) NOT NULL,
  `goto` text NOT NULL,
  `domain` varchar(255) NOT NULL,
  `created` datetime NOT NULL default '2000-01-01 00:00:00',
  `modified` datetime NOT NULL default '2000-01-01 00:00:00',
  `active` tinyint(1) NOT NULL default '1',
  PRIMARY KEY (`address`),
  KEY `domain` (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COMMENT='Postfix Admin - Virtual Aliases';
"""

# PostfixAdmin's PostgreSQL flavour.
PFA_POSTGRESQL = """\
CREATE TABLE domain (
  domain character varying(255) NOT NULL,
  description character varying(255) NOT NULL DEFAULT '',
  aliases integer NOT NULL DEFAULT 0,
  mailboxes integer NOT NULL DEFAULT 0,
  maxquota bigint NOT NULL DEFAULT 0,
  quota bigint NOT NULL DEFAULT 0,
  transport character varying(255) DEFAULT NULL,
  backupmx boolean NOT NULL DEFAULT false,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  CONSTRAINT domain_key PRIMARY KEY (domain)
);

CREATE TABLE mailbox (
  username character varying(255) NOT NULL,
  password character varying(255) NOT NULL DEFAULT '',
  name character varying(255) NOT NULL DEFAULT '',
  maildir character varying(255) NOT NULL DEFAULT '',
  quota bigint NOT NULL DEFAULT 0,
  local_part character varying(255) NOT NULL,
  domain character varying(255) REFERENCES domain,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  CONSTRAINT mailbox_key PRIMARY KEY (username)
);
CREATE INDEX mailbox_domain_idx ON mailbox (domain);

CREATE TABLE alias (
  address character varying(255) NOT NULL,
  goto text NOT NULL,
  domain character varying(255) NOT NULL REFERENCES domain,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  CONSTRAINT alias_key PRIMARY KEY (address)
);
CREATE INDEX alias_address_active ON alias (address, active);
"""

# The queries an admin writes for it ([directory.queries]); the same text
# on both engines except the quota's integer division.
def queries(engine):
    mb = "quota DIV 1048576" if engine == "mysql" else "quota / 1048576"
    return {
        "domain": "SELECT domain FROM domain WHERE domain = :domain AND active = TRUE AND backupmx = FALSE",
        "user": f"SELECT local_part, domain, password, {mb}, active, 0 FROM mailbox WHERE username = :address",
        "password": "SELECT password, active FROM mailbox WHERE username = :address",
        "aliases": "SELECT goto FROM alias WHERE address = :address AND active = TRUE",
        # PostfixAdmin keeps no TLS policies: none.
        "tls_policy": "SELECT transport, description FROM domain WHERE domain = :domain AND 1 = 0",
    }


def rows(engine):
    h = doveadm_hash(PASSWORD)
    t, f = ("1", "0") if engine == "mysql" else ("true", "false")
    gib = 2 * 1024 * 1024 * 1024
    return f"""
INSERT INTO domain (domain, description, aliases, mailboxes, maxquota, quota, transport, backupmx, active)
  VALUES ('example.test', 'Example', 10, 10, 2048, 10240, 'virtual', {f}, {t});
INSERT INTO domain (domain, description, aliases, mailboxes, maxquota, quota, transport, backupmx, active)
  VALUES ('catchall.test', 'Catch-all', 10, 0, 0, 0, 'virtual', {f}, {t});
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, active)
  VALUES ('user1@example.test', '{h}', 'User One', 'example.test/user1/', {gib}, 'user1', 'example.test', {t});
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, active)
  VALUES ('user2@example.test', '{h}', 'User Two', 'example.test/user2/', {gib}, 'user2', 'example.test', {t});
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, active)
  VALUES ('left@example.test', '{h}', 'Left', 'example.test/left/', {gib}, 'left', 'example.test', {f});
INSERT INTO alias (address, goto, domain, active) VALUES ('user1@example.test', 'user1@example.test', 'example.test', {t});
INSERT INTO alias (address, goto, domain, active) VALUES ('user2@example.test', 'user2@example.test', 'example.test', {t});
INSERT INTO alias (address, goto, domain, active) VALUES ('left@example.test', 'left@example.test', 'example.test', {f});
INSERT INTO alias (address, goto, domain, active) VALUES ('team@example.test', 'user1@example.test,user2@example.test', 'example.test', {t});
INSERT INTO alias (address, goto, domain, active) VALUES ('old@example.test', 'user1@example.test', 'example.test', {f});
INSERT INTO alias (address, goto, domain, active) VALUES ('@catchall.test', 'user2@example.test', 'catchall.test', {t});
"""


PFA_TABLES = ["alias", "domain", "mailbox"]


@pytest.fixture(params=[
    pytest.param("mysql", marks=pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs mariadb-server")),
    pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs postgresql-15")),
])
def pfa(request, instance, dns):
    engine = request.param
    server = request.getfixturevalue(ENGINES[engine][2])
    db = server.create_database("pfa_" + database_name(request))
    e = Env(engine, server, db, instance, dns)
    e.script(PFA_MYSQL if engine == "mysql" else PFA_POSTGRESQL)
    e.script(rows(engine))
    e.configure(cache_seconds=1, queries=queries(engine))
    e.pfa_definitions = e.definitions(PFA_TABLES)
    e.pfa_rows = e.dump(PFA_TABLES)
    # Mailfort's own tables (access lists, settings) beside PostfixAdmin's,
    # and not the guide's (--mailfort-only).
    r = instance.cli("directory", "init-schema", "--mailfort-only")
    assert r.returncode == 0, r.stdout + r.stderr
    assert server.tables(db) == sorted(PFA_TABLES + MAILFORT_TABLES), server.tables(db)
    assert e.definitions(PFA_TABLES) == e.pfa_definitions, "PostfixAdmin's tables must not be altered"
    yield e
    server.drop_database(db)


def test_postfixadmin_login_over_imap_and_smtp_auth(pfa):
    pfa.inst.start()
    m = imap_login(pfa.inst, "user1@example.test")
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    assert "AUTHENTICATIONFAILED" in imap_login_fails(pfa.inst, "user1@example.test", "wrong-password")
    # PostfixAdmin's login is the full address; the local part alone is no login.
    assert "AUTHENTICATIONFAILED" in imap_login_fails(pfa.inst, "user1")
    smtp_auth(pfa.inst, "user2@example.test").quit()


def test_postfixadmin_delivery_alias_list_and_catch_all(pfa):
    pfa.inst.start()
    assert mx_send(pfa.inst, ["user1@example.test"], "pfa-direct") == {}
    assert mx_send(pfa.inst, ["team@example.test"], "pfa-team") == {}
    assert mx_send(pfa.inst, ["whoever@catchall.test"], "pfa-catch-all") == {}
    assert wait_subject(pfa.inst, "user1@example.test", "pfa-team")
    assert wait_subject(pfa.inst, "user2@example.test", "pfa-catch-all")
    one, two = inbox_subjects(pfa.inst, "user1@example.test"), inbox_subjects(pfa.inst, "user2@example.test")
    assert sorted(one) == ["pfa-direct", "pfa-team"], one  # once each (self-alias + mailbox are one)
    assert sorted(two) == ["pfa-catch-all", "pfa-team"], two
    # Unknown in example.test (no catch-all there), an inactive alias, a domain not in `domain`.
    assert rcpt_reply(pfa.inst, "nobody@example.test")[0] == 550
    assert rcpt_reply(pfa.inst, "old@example.test")[0] == 550
    code, text, _ = rcpt_reply(pfa.inst, "x@elsewhere.test")
    assert code is not None and 500 <= code < 600, text
    assert pfa.dump(PFA_TABLES) == pfa.pfa_rows  # only read


def test_postfixadmin_inactive_mailbox_is_refused_and_activation_is_live(pfa):
    pfa.inst.start()
    code, text, alive = rcpt_reply(pfa.inst, "left@example.test")
    assert code == 550 and alive, text
    assert "AUTHENTICATIONFAILED" in imap_login_fails(pfa.inst, "left@example.test")
    # Deactivating user2 the way PostfixAdmin does (mailbox and its alias).
    t = "1" if pfa.engine == "mysql" else "true"
    f = "0" if pfa.engine == "mysql" else "false"
    pfa.sql(f"UPDATE mailbox SET active = {f} WHERE username = 'user2@example.test'")
    pfa.sql(f"UPDATE alias SET active = {f} WHERE address = 'user2@example.test'")
    from conftest import wait_for
    assert wait_for(lambda: rcpt_reply(pfa.inst, "user2@example.test")[0] == 550, timeout=5, step=0.2)
    assert "AUTHENTICATIONFAILED" in imap_login_fails(pfa.inst, "user2@example.test")
    # And back.
    pfa.sql(f"UPDATE mailbox SET active = {t} WHERE username = 'left@example.test'")
    pfa.sql(f"UPDATE alias SET active = {t} WHERE address = 'left@example.test'")
    assert wait_for(lambda: rcpt_reply(pfa.inst, "left@example.test")[0] == 250, timeout=5, step=0.2)
    imap_login(pfa.inst, "left@example.test").logout()


def test_postfixadmin_schema_refuses_cli_writes_with_a_clear_error(pfa):
    """Writes need the guide's tables; with custom queries the CLI says so
    (open.h: Errc::Perm) instead of writing somewhere else."""
    before = pfa.dump(PFA_TABLES)
    r = pfa.inst.cli("user", "add", "new@example.test", "--password-stdin", input=PASSWORD + "\n")
    assert r.returncode != 0
    assert r.stderr.strip(), "a refusal must say why"
    assert pfa.dump(PFA_TABLES) == before
