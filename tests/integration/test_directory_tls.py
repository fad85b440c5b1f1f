"""Issue 15: TLS to the directory's database server ([directory] tls).

The server (MariaDB with require_secure_transport, PostgreSQL with hostssl
only) turns away TCP clients without TLS. Mailfort with tls = "none" cannot
look anything up (451 4.3.0, never a 5xx for a real account); "require"
gets in; "verify" gets in with the server's certificate as tls_ca_file and
is refused with another CA (the server's certificate cannot be verified)."""
import imaplib

import pytest

from dbservers import MARIADB_AVAILABLE, POSTGRESQL_AVAILABLE, ENGINES, make_cert
from directory_cases import USER1, Env, guide_rows, imap_login, rcpt_reply, toml


@pytest.fixture(params=[
    pytest.param("mysql", marks=pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs mariadb-server")),
    pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs postgresql-15")),
])
def tls_env(request, instance, dns):
    engine = request.param
    cls, _, _ = ENGINES[engine]
    server = cls(tls=True)
    e = Env(engine, server, "vmail", instance, dns)
    e.guide_schema()
    e.script(guide_rows())
    e.configure(cache_seconds=0)
    yield e
    server.cleanup()


def run_with(env, tls, ca=None):
    inst = env.inst
    if inst.proc:
        inst.stop()
    inst.set("directory", "tls", toml(tls))
    if ca:
        inst.set("directory", "tls_ca_file", toml(ca))
    inst.start()


def test_tls_to_the_database_server(tls_env):
    env = tls_env
    other_ca, _ = make_cert(env.inst.dir, "other", cn="other.example")
    run_with(env, "require")
    r = env.init_schema()  # the CLI connects the same way
    assert rcpt_reply(env.inst, USER1)[0] == 250
    imap_login(env.inst, USER1).logout()

    run_with(env, "verify", env.server.cert)
    assert rcpt_reply(env.inst, USER1)[0] == 250
    imap_login(env.inst, USER1).logout()

    run_with(env, "verify", other_ca)
    code, text, _ = rcpt_reply(env.inst, USER1)
    assert code == 451 and "4.3.0" in text, text
    with pytest.raises(imaplib.IMAP4.error) as e:
        imap_login(env.inst, USER1)
    assert "[UNAVAILABLE]" in str(e.value)

    run_with(env, "none")
    code, text, _ = rcpt_reply(env.inst, USER1)
    assert code == 451 and "4.3.0" in text, text
    assert r.returncode == 0


def test_migrate_into_a_server_that_requires_tls(tls_env, dns):
    """`directory migrate --tls require|verify` reaches a TLS-only server;
    without --tls the server turns it away."""
    from conftest import Instance
    env = tls_env
    src = Instance(dns)  # the embedded SQLite directory with its demo domain
    try:
        src.add_user("mig@example.test")
        db = env.server.create_database("migrate_tls")
        target = env.server.url(db)
        plain = src.cli("directory", "migrate", "--to", target, "--password-file", env.server.password_file)
        assert plain.returncode != 0
        r = src.cli("directory", "migrate", "--to", target, "--password-file", env.server.password_file,
                    "--tls", "verify", "--tls-ca-file", env.server.cert)
        assert r.returncode == 0, r.stdout + r.stderr
        rows = env.server.sql("SELECT username FROM accounts WHERE domain = 'example.test'", database=db)
        assert ("mig",) in rows, rows
    finally:
        src.cleanup()
