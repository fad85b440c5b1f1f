"""The database servers the directory and shared-state tests start
(dbservers.py): MariaDB, PostgreSQL and Redis come up on loopback, take
their clients' statements as admin and as the vmail user with its
password, stop (port refused) and start again on the same port with the
same data."""
import os
import socket
import subprocess
import time

import pytest

import dbservers

from dbservers import (DB_PASSWORD, DB_USER, MARIADB_AVAILABLE, POSTGRESQL_AVAILABLE, REDIS_AVAILABLE,
                       DatabaseError, MariaDB, PostgreSQL, Redis, acquire, release)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


@pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs mariadb-server")
def test_mariadb_starts_answers_stops_and_keeps_its_data():
    t = time.monotonic()
    db = MariaDB()
    started = time.monotonic() - t
    try:
        assert started < 20, started
        db.script("CREATE TABLE t (id int PRIMARY KEY, v varchar(64)); INSERT INTO t VALUES (1, 'ä''\\\\%');")
        assert db.sql("SELECT v FROM t") == [("ä'\\%",)]
        # vmail over TCP with its password; a wrong password is refused.
        assert db.sql("SELECT CURRENT_USER()", user=DB_USER, password=DB_PASSWORD) == [("vmail@%",)]
        with pytest.raises(DatabaseError):
            db.sql("SELECT 1", user=DB_USER, password="wrong")
        name = db.create_database("selftest")
        assert name == "vmail_selftest"
        db.sql("CREATE TABLE x (a int)", database=name, user=DB_USER, password=DB_PASSWORD)
        assert db.tables(name) == ["x"]
        # The unix socket for vmail too.
        r = subprocess.run(["mysql", "--no-defaults", "-S", db.socket, "-u", DB_USER, f"-p{DB_PASSWORD}",
                            "-N", "-e", "SELECT 7"], capture_output=True, text=True)
        assert r.stdout.strip() == "7", r.stderr
        port = db.port
        db.stop()
        assert refused(port)
        assert not db.running()
        db.start()
        assert db.port == port
        assert db.sql("SELECT v FROM t") == [("ä'\\%",)]
        assert "SELECT v FROM t" in db.general_log()
    finally:
        db.cleanup()


@pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs postgresql-15")
def test_postgresql_starts_answers_stops_and_keeps_its_data():
    t = time.monotonic()
    pg = PostgreSQL()
    started = time.monotonic() - t
    try:
        assert started < 20, started
        pg.script("CREATE TABLE t (id int PRIMARY KEY, v varchar(64)); INSERT INTO t VALUES (1, E'ä''\\\\%');")
        assert pg.sql("SELECT v FROM t") == [("ä'\\%",)]
        assert pg.sql("SELECT v, NULL FROM t") == [("ä'\\%", None)]
        assert pg.sql("SELECT current_user", user=DB_USER, password=DB_PASSWORD) == [("vmail",)]
        with pytest.raises(DatabaseError):
            pg.sql("SELECT 1", user=DB_USER, password="wrong")
        name = pg.create_database("selfTest")
        assert name == "vmail_selftest"
        pg.sql("CREATE TABLE x (a int)", database=name, user=DB_USER, password=DB_PASSWORD)
        assert pg.tables(name) == ["x"]
        port = pg.port
        pg.stop()
        assert refused(port)
        pg.start()
        assert pg.sql("SELECT v FROM t") == [("ä'\\%",)]
        assert "SELECT v FROM t" in pg.log()
    finally:
        pg.cleanup()


@pytest.mark.skipif(not REDIS_AVAILABLE, reason="needs redis-server")
def test_redis_requires_its_password_stops_and_keeps_its_data():
    r = Redis()
    try:
        assert r.cli("SET", "k", "v").strip() == "OK"
        anon = subprocess.run(["redis-cli", "-p", str(r.port), "GET", "k"], capture_output=True, text=True)
        assert "NOAUTH" in anon.stdout + anon.stderr
        port = r.port
        r.stop()
        assert refused(port)
        r.start()
        assert r.cli("GET", "k").strip() == "v"
        assert r.keys() == ["k"]
    finally:
        r.cleanup()


@pytest.mark.skipif(not (MARIADB_AVAILABLE and POSTGRESQL_AVAILABLE and REDIS_AVAILABLE),
                    reason="needs mariadb-server, postgresql-15 and redis-server")
def test_shared_servers_are_started_once_and_stopped_by_the_last_holder():
    t = time.monotonic()
    servers = [acquire(kind) for kind in ("mariadb", "postgresql", "redis")]
    elapsed = time.monotonic() - t
    try:
        print(f"\nthree shared servers up in {elapsed:.2f}s")
        again = [acquire(kind) for kind in ("mariadb", "postgresql", "redis")]
        assert [s.port for s in again] == [s.port for s in servers]
        assert all(s.running() for s in servers)
    finally:
        for kind in ("mariadb", "postgresql", "redis"):
            release(kind)
    # One holder (this process) counts once: released, each is stopped unless
    # another test worker of this run still holds it (files run in parallel).
    for kind, s in zip(("mariadb", "postgresql", "redis"), servers):
        state = dbservers._load(os.path.join(dbservers.SHARED, dbservers._run_id(), kind + ".json"))
        others = [p for p in state.get("holders", []) if dbservers._pid_alive(p)]
        if others:
            assert s.running(), kind
        else:
            assert refused(s.port), kind


@pytest.mark.parametrize("cls", [
    pytest.param(MariaDB, marks=pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs mariadb-server")),
    pytest.param(PostgreSQL, marks=pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs postgresql-15")),
])
def test_killed_server_restarts_with_its_committed_data(cls):
    s = cls()
    try:
        s.sql("CREATE TABLE k (a int)")
        s.sql("INSERT INTO k VALUES (5)")
        port = s.port
        s.kill()  # at once: the commit must already have reached the OS
        assert not s.running() and refused(port)
        s.start()
        assert s.sql("SELECT a FROM k") == [("5",)]
    finally:
        s.cleanup()


def test_servers_that_insist_on_tls():
    """tls=True: TCP clients without TLS are turned away, with TLS they
    get in (the certificate is for 127.0.0.1)."""
    if MARIADB_AVAILABLE:
        db = MariaDB(tls=True)
        try:
            assert db.sql("SELECT 1", user=DB_USER, password=DB_PASSWORD) == [("1",)]
            plain = subprocess.run(["mysql", "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P",
                                    str(db.port), "-u", DB_USER, f"-p{DB_PASSWORD}", "--skip-ssl", "-e",
                                    "SELECT 1"], capture_output=True, text=True)
            assert plain.returncode != 0, plain.stderr  # "insecure transport" or "access denied"
            verified = subprocess.run(["mysql", "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P",
                                       str(db.port), "-u", DB_USER, f"-p{DB_PASSWORD}", f"--ssl-ca={db.cert}",
                                       "--ssl-verify-server-cert", "-N", "-e",
                                       "SHOW STATUS LIKE 'Ssl_version'"], capture_output=True, text=True)
            assert verified.returncode == 0 and "TLSv1" in verified.stdout, verified.stderr
        finally:
            db.cleanup()
    if POSTGRESQL_AVAILABLE:
        pg = PostgreSQL(tls=True)
        try:
            assert pg.sql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", user=DB_USER,
                          password=DB_PASSWORD) == [("t",)]
            import os
            plain = subprocess.run(["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(pg.port), "-U", DB_USER,
                                    "-d", "vmail", "-c", "SELECT 1"], capture_output=True, text=True,
                                   env=dict(os.environ, PGPASSWORD=DB_PASSWORD, PGSSLMODE="disable"))
            assert plain.returncode != 0 and "no encryption" in plain.stderr, plain.stderr
            verified = subprocess.run(["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(pg.port), "-U", DB_USER,
                                       "-d", "vmail", "-c", "SELECT 1"], capture_output=True, text=True,
                                      env=dict(os.environ, PGPASSWORD=DB_PASSWORD, PGSSLMODE="verify-full",
                                               PGSSLROOTCERT=pg.cert))
            assert verified.stdout.strip() == "1", verified.stderr
        finally:
            pg.cleanup()
