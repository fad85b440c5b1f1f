"""Real database servers from Debian for the directory and shared-state
tests: MariaDB, PostgreSQL 15 and Redis, each in its own temp directory
under /tmp/mailfort-it on a free loopback port (ports.py), never the
system's services.

    db = MariaDB()                   # started; database `vmail`, user `vmail`
    db.url()                         # "mysql://vmail@127.0.0.1:PORT/vmail"
    db.url(socket=True)              # "mysql://vmail@localhost/vmail?socket=PATH"
    db.password_file                 # the vmail password ([directory] password_file)
    db.sql("SELECT 1")               # rows (tuples of str/None) as the admin, via the mysql client
    db.script("CREATE ...; INSERT ...")   # several statements (the guide's CREATE TABLEs verbatim)
    db.create_database("mymodule")   # "vmail_mymodule", fresh, owned by / granted to vmail
    db.stop(); db.start()            # same port, same data
    db.cleanup()                     # stopped and removed

    pg = PostgreSQL()                # the same interface (psql); runs as the `postgres` user under root
    r = Redis()                      # r.url(), r.password_file, r.cli("GET", "k"), stop()/start()

Start-up is a fraction of a second plus the server's own: mariadb-install-db
and initdb run once per machine into a template (BASE/dbtemplates/<version>)
that each server copies.

Sharing across test files and pytest-xdist workers: the session fixtures
`shared_mariadb`, `shared_postgresql` and `shared_redis` (import them into a
test module) start one server per test run (keyed by xdist's testrunuid),
the first worker that needs it starts it, the last one to leave stops it
(holders are recorded by pid in a state file under a flock). Tests on a
shared server work in their own database (`create_database`) or key prefix;
a test that stops a server uses a private one (`MariaDB()` etc. directly).

What the servers log, for tests that check what reached them:
  - MariaDB keeps a general query log (`general_log()`: every statement, the
    prepared ones as Prepare with `?` and Execute with the values) and an
    error log;
  - PostgreSQL logs every statement (log_statement = all; bound values as
    `DETAIL:  parameters: $1 = '...'`) and its errors (`log()`).
"""
import contextlib
import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from ports import free_port

BASE = "/tmp/mailfort-it"
TEMPLATES = os.path.join(BASE, "dbtemplates")
SHARED = os.path.join(BASE, "dbservers")

MARIADBD = "/usr/sbin/mariadbd"
MARIADB_INSTALL_DB = "/usr/bin/mariadb-install-db"
MYSQL = "/usr/bin/mysql"
PG_BIN = "/usr/lib/postgresql/15/bin"
PSQL = "/usr/bin/psql"
REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"

MARIADB_AVAILABLE = all(os.path.exists(p) for p in (MARIADBD, MARIADB_INSTALL_DB, MYSQL))
POSTGRESQL_AVAILABLE = all(os.path.exists(p) for p in (f"{PG_BIN}/postgres", f"{PG_BIN}/initdb", PSQL))
REDIS_AVAILABLE = all(os.path.exists(p) for p in (REDIS_SERVER, REDIS_CLI))

DB_USER = "vmail"
DB_PASSWORD = "Vmail-Db-Pass-17"
REDIS_PASSWORD = "Redis-Pass-29"
PG_OS_USER = "postgres"  # postgres refuses to run as root


class DatabaseError(AssertionError):
    """A statement the admin client ran failed (the client's stderr)."""


def _wait(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def _pid_alive(pid):
    """True when `pid` runs (a zombie does not count)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False


def make_cert(directory, name="server", cn="localhost"):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key) paths."""
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "3", "-subj", f"/CN={cn}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o600)
    return cert, key


def _mkdir(prefix):
    os.makedirs(BASE, exist_ok=True)
    os.chmod(BASE, 0o755)
    d = tempfile.mkdtemp(dir=BASE, prefix=prefix)
    os.chmod(d, 0o755)  # the `mailfort` user the server drops to reaches the sockets
    return d


def _write_secret(path, secret):
    """A password file as the guide's admin would keep it: 0600, owned by
    the user Mailfort runs as (`mailfort` when the tests run as root)."""
    with open(path, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        try:
            shutil.chown(path, "mailfort", "mailfort")
        except (LookupError, PermissionError):
            os.chmod(path, 0o644)


@contextlib.contextmanager
def _flock(path):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _template(name, build):
    """BASE/dbtemplates/NAME, built once per machine by `build(dir)`."""
    path = os.path.join(TEMPLATES, name)
    os.makedirs(TEMPLATES, exist_ok=True)
    os.chmod(TEMPLATES, 0o755)  # initdb runs as the postgres user
    with _flock(path + ".lock"):
        if not os.path.isdir(path):
            tmp = path + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            os.chmod(tmp, 0o755)
            build(tmp)
            os.rename(tmp, path)
    return path


def _version(argv):
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    return re.sub(r"[^\w.-]+", "_", out.strip())[:60]


class _Server:
    kind = ""
    tls = False
    cert = None
    # Attributes saved in the shared state file, enough to attach to a
    # running server from another process.
    STATE = ("dir", "port", "pid")

    def __init__(self):
        self.proc = None
        self.pid = None

    @classmethod
    def attach(cls, state):
        self = cls.__new__(cls)
        self.proc = None
        for k, v in state.items():
            setattr(self, k, v)
        return self

    def state(self):
        return {k: getattr(self, k) for k in self.STATE}

    def running(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return _pid_alive(self.pid)

    def _spawn(self, argv, logname, **kw):
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, logname), "a"), **kw)
        self.pid = self.proc.pid

    def _await_ready(self, ready, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.running():
                raise AssertionError(f"{what} exited: {self.log()[-3000:]}")
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"{what} did not come up in {timeout}s: {self.log()[-3000:]}")

    def _terminate(self, sig=signal.SIGTERM, timeout=30):
        if not self.running():
            self.proc = None
            return
        os.kill(self.pid, sig)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif not _wait(lambda: not _pid_alive(self.pid), timeout):
            os.kill(self.pid, signal.SIGKILL)
            _wait(lambda: not _pid_alive(self.pid), 10)
        self.proc = None

    def stop(self):
        """Stops the server and waits until it has exited (its port then refuses)."""
        self._terminate()
        _wait(lambda: not _port_open(self.port), 10)

    def kill(self):
        """SIGKILL to the server and its child processes (PostgreSQL's
        backends): it vanishes without a goodbye to its clients."""
        children = _children(self.pid)
        self._terminate(signal.SIGKILL)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait(lambda: not any(_pid_alive(p) for p in children), 10)
        _wait(lambda: not _port_open(self.port), 10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        return ""


# ---------------------------------------------------------------- MariaDB

def _mariadb_template():
    version = _version([MARIADBD, "--version"])

    def build(d):
        r = subprocess.run([MARIADB_INSTALL_DB, "--no-defaults", f"--datadir={d}/data",
                            "--auth-root-authentication-method=normal", "--skip-test-db",
                            f"--user={pwd.getpwuid(os.geteuid()).pw_name}",
                            *MariaDB.INNODB], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr

    return _template("mariadb-" + version, build)


class MariaDB(_Server):
    kind = "mariadb"
    STATE = ("dir", "port", "pid", "socket", "datadir", "password_file", "tls", "cert")
    # Small, and safe against a killed process but not against power loss
    # (commits reach the OS, never the disk): a throwaway test server.
    INNODB = ["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M", "--innodb-flush-method=nosync",
              "--innodb-flush-log-at-trx-commit=2", "--innodb-doublewrite=0", "--skip-log-bin"]

    def __init__(self, tls=False):
        """`tls`: TCP clients must use TLS (require_secure_transport; the
        certificate `cert` is for 127.0.0.1)."""
        super().__init__()
        self.dir = _mkdir("mariadb-")
        self.port = free_port()
        self.tls = tls
        try:
            self._setup()
        except BaseException:
            self.cleanup()
            raise

    def _setup(self):
        self.cert = make_cert(self.dir)[0] if self.tls else None
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.datadir = os.path.join(self.dir, "data")
        subprocess.run(["cp", "-a", os.path.join(_mariadb_template(), "data"), self.datadir], check=True)
        self.password_file = os.path.join(self.dir, "vmail.password")
        _write_secret(self.password_file, DB_PASSWORD)
        self.start()
        self.script(f"""
            CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}';
            CREATE USER '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';
            CREATE DATABASE vmail;
            GRANT ALL ON `vmail`.* TO '{DB_USER}'@'%', '{DB_USER}'@'localhost';
            GRANT ALL ON `vmail\\_%`.* TO '{DB_USER}'@'%', '{DB_USER}'@'localhost';
            FLUSH PRIVILEGES;""", database="mysql")

    def start(self, timeout=60):
        assert not self.running(), "mariadbd already running"
        argv = [MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
                f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
                f"--pid-file={self.dir}/mariadbd.pid", f"--log-error={self.dir}/error.log",
                "--general-log=1", f"--general-log-file={self.dir}/general.log",
                "--performance-schema=0", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci", "--max-connections=300", *self.INNODB]
        if self.tls:
            argv += [f"--ssl-cert={self.cert}", f"--ssl-key={self.cert[:-4]}.key", "--require-secure-transport=ON"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        self._spawn(argv, "stderr.log")
        return self._await_ready(lambda: self._client(["-e", "SELECT 1"]).returncode == 0, timeout, "mariadbd")

    def log(self):
        return _read(os.path.join(self.dir, "error.log")) + _read(os.path.join(self.dir, "stderr.log"))

    def general_log(self):
        return _read(os.path.join(self.dir, "general.log"))

    def _client(self, args, input=None, user="root", password=None):
        argv = [MYSQL, "--no-defaults", "--batch", "--skip-column-names",
                "--default-character-set=utf8mb4"]
        if user == "root":
            argv += ["-S", self.socket, "-u", "root"]
        else:
            argv += ["--protocol=TCP", "-h", "127.0.0.1", "-P", str(self.port), "-u", user,
                     f"-p{password}"] + (["--ssl"] if self.tls else [])
        return subprocess.run(argv + args, input=input, capture_output=True, text=True, timeout=60)

    def sql(self, statement, database="vmail", user="root", password=None):
        """Runs one statement as `user` (root over the socket; others over TCP
        with `password`): the rows it returned, as tuples of str (None for NULL)."""
        r = self._client(["-D", database, "-e", statement], user=user, password=password)
        if r.returncode != 0:
            raise DatabaseError(f"mysql: {r.stderr.strip()}\n  in: {statement}")
        # Batch mode writes \n, \t, \\ and \0 inside values as escapes.
        return [tuple(None if v == "NULL" else _mysql_unescape(v) for v in line.split("\t"))
                for line in r.stdout.split("\n") if line != ""]

    def script(self, text, database="vmail"):
        """Runs several ;-separated statements (e.g. the guide's CREATE TABLEs verbatim)."""
        r = self._client(["-D", database], input=text)
        if r.returncode != 0:
            raise DatabaseError(f"mysql: {r.stderr.strip()}")
        return r.stdout

    def create_database(self, name):
        """A fresh database vmail_NAME for one test module (dropped first if left over)."""
        db = "vmail_" + re.sub(r"\W", "_", name)[:50]
        self.script(f"DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}`;", database="mysql")
        return db

    def drop_database(self, db):
        self.script(f"DROP DATABASE IF EXISTS `{db}`;", database="mysql")

    def url(self, database="vmail", socket=False, user=DB_USER):
        if socket:
            return f"mysql://{user}@localhost/{database}?socket={self.socket}"
        return f"mysql://{user}@127.0.0.1:{self.port}/{database}"

    def tables(self, database="vmail"):
        return sorted(r[0] for r in self.sql("SHOW TABLES", database))

    def table_definition(self, table, database="vmail"):
        """SHOW CREATE TABLE, with the AUTO_INCREMENT counter left out (rows move it)."""
        text = self.sql(f"SHOW CREATE TABLE `{table}`", database)[0][1]
        return re.sub(r" AUTO_INCREMENT=\d+", "", text)


def _mysql_unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "0": "\0"}.get(m.group(1), m.group(1)), v)


# ------------------------------------------------------------- PostgreSQL

def _pg_user():
    return PG_OS_USER if os.geteuid() == 0 else None


def _chown_tree(path, user):
    if user:
        subprocess.run(["chown", "-R", f"{user}:{user}", path], check=True)


def _postgresql_template():
    version = _version([f"{PG_BIN}/postgres", "--version"])

    def build(d):
        user = _pg_user()
        _chown_tree(d, user)
        r = subprocess.run([f"{PG_BIN}/initdb", "-D", f"{d}/data", "-U", "postgres", "-A", "trust",
                            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                           capture_output=True, text=True, user=user, group=user,
                           extra_groups=[] if user else None, cwd=d)
        assert r.returncode == 0, r.stdout + r.stderr

    return _template("postgresql-" + version, build)


PG_HBA = """\
# The admin (tests) over the socket without a password; everyone else,
# over the socket or TCP, with one.
local all postgres trust
local all all scram-sha-256
host all postgres 127.0.0.1/32 reject
host all all 127.0.0.1/32 scram-sha-256
"""


class PostgreSQL(_Server):
    kind = "postgresql"
    STATE = ("dir", "port", "pid", "socket_dir", "datadir", "password_file", "tls", "cert")

    def __init__(self, tls=False):
        """`tls`: TCP clients must use TLS (hostssl only; the certificate
        `cert` is for 127.0.0.1)."""
        super().__init__()
        self.dir = _mkdir("postgresql-")
        self.port = free_port()
        self.tls = tls
        try:
            self._setup()
        except BaseException:
            self.cleanup()
            raise

    def _setup(self):
        self.socket_dir = self.dir
        self.datadir = os.path.join(self.dir, "data")
        self.cert = make_cert(self.dir)[0] if self.tls else None
        subprocess.run(["cp", "-a", os.path.join(_postgresql_template(), "data"), self.datadir], check=True)
        with open(os.path.join(self.datadir, "pg_hba.conf"), "w") as f:
            f.write(PG_HBA if not self.tls else PG_HBA.replace(
                "host all all 127.0.0.1/32 scram-sha-256",
                "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 127.0.0.1/32 reject"))
        _chown_tree(self.dir, _pg_user())
        self.password_file = os.path.join(self.dir, "vmail.password")
        _write_secret(self.password_file, DB_PASSWORD)
        self.start()
        self.sql(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'", database="postgres")
        self.sql(f"CREATE DATABASE vmail OWNER {DB_USER}", database="postgres")
        self._grant_default("vmail")

    def start(self, timeout=60):
        assert not self.running(), "postgres already running"
        user = _pg_user()
        argv = [f"{PG_BIN}/postgres", "-D", self.datadir, "-p", str(self.port), "-k", self.socket_dir,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=on",
                "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=300",
                "-c", "unix_socket_permissions=0777", "-c", "log_statement=all",
                "-c", "log_line_prefix=%m [%p] %q%u@%d ", "-c", "log_min_messages=warning",
                "-c", "password_encryption=scram-sha-256"]
        if self.tls:
            argv += ["-c", "ssl=on", "-c", f"ssl_cert_file={self.cert}", "-c", f"ssl_key_file={self.cert[:-4]}.key"]
        self._spawn(argv, "postgres.log", user=user, group=user, extra_groups=[] if user else None,
                    cwd=self.dir)
        return self._await_ready(lambda: self._client(["-c", "SELECT 1"], "postgres").returncode == 0,
                                 timeout, "postgres")

    def stop(self):
        # SIGINT: "fast" shutdown (clients are disconnected; SIGTERM would wait for them).
        self._terminate(signal.SIGINT)
        _wait(lambda: not _port_open(self.port), 10)

    def log(self):
        return _read(os.path.join(self.dir, "postgres.log"))

    def log_mark(self):
        return len(self.log())

    def _client(self, args, database, input=None, user="postgres", password=None, host=None):
        argv = [PSQL, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                "-h", host or self.socket_dir, "-p", str(self.port), "-U", user, "-d", database]
        env = dict(os.environ, PGCONNECT_TIMEOUT="5", PGCLIENTENCODING="UTF8")
        if password is not None:
            env["PGPASSWORD"] = password
        return subprocess.run(argv + args, input=input, capture_output=True, text=True, timeout=60, env=env)

    def sql(self, statement, database="vmail", user="postgres", password=None):
        """Runs one statement as `user` (postgres over the socket; others over
        TCP with `password`): the rows, as tuples of str (None for NULL)."""
        host = None if user == "postgres" else "127.0.0.1"
        # NULL printed as a marker no value contains.
        r = self._client(["-P", "null=\x01NULL\x01", "-c", statement], database, user=user,
                         password=password, host=host)
        if r.returncode != 0:
            raise DatabaseError(f"psql: {r.stderr.strip()}\n  in: {statement}")
        return [tuple(None if v == "\x01NULL\x01" else v for v in line.split("\t"))
                for line in r.stdout.split("\n") if line != ""]

    def script(self, text, database="vmail"):
        r = self._client(["-f", "-"], database, input=text)
        if r.returncode != 0:
            raise DatabaseError(f"psql: {r.stderr.strip()}")
        return r.stdout

    def create_database(self, name):
        db = "vmail_" + re.sub(r"\W", "_", name)[:50].lower()
        self.sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', database="postgres")
        self.sql(f'CREATE DATABASE "{db}" OWNER {DB_USER}', database="postgres")
        self._grant_default(db)
        return db

    def _grant_default(self, db):
        """Tables the tests create as the admin (the guide's CREATE TABLEs)
        are the vmail user's to use, as the guide's GRANT makes them."""
        self.sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {DB_USER}", database=db)
        self.sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO {DB_USER}", database=db)

    def drop_database(self, db):
        self.sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', database="postgres")

    def url(self, database="vmail", socket=False, user=DB_USER):
        if socket:
            # The socket's name carries the port (.s.PGSQL.<port>): say which.
            return f"postgresql://{user}@:{self.port}/{database}?host={self.socket_dir}"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def tables(self, database="vmail"):
        return sorted(r[0] for r in self.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", database))

    def table_definition(self, table, database="vmail"):
        """The columns (name, type, nullability, default) and constraints of `table`."""
        cols = self.sql("SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
                        "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = "
                        f"'{table}' ORDER BY ordinal_position", database)
        cons = self.sql("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                        f"'public.{table}'::regclass ORDER BY conname", database)
        idx = self.sql(f"SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{table}' "
                       "ORDER BY indexname", database)
        return repr((cols, cons, idx))


# ------------------------------------------------------------------ Redis

class Redis(_Server):
    kind = "redis"
    STATE = ("dir", "port", "pid", "password_file")

    def __init__(self):
        super().__init__()
        self.dir = _mkdir("redis-")
        self.port = free_port()
        try:
            self._setup()
        except BaseException:
            self.cleanup()
            raise

    def _setup(self):
        self.password_file = os.path.join(self.dir, "redis.password")
        _write_secret(self.password_file, REDIS_PASSWORD)
        self.start()

    def start(self, timeout=30):
        assert not self.running(), "redis-server already running"
        # No automatic snapshots; stop() saves once (SHUTDOWN SAVE) so start() finds the same data.
        self._spawn([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--requirepass", REDIS_PASSWORD, "--dir", self.dir,
                     "--dbfilename", "dump.rdb", "--daemonize", "no", "--logfile", "",
                     "--protected-mode", "yes"], "redis.log")
        return self._await_ready(lambda: self.cli("PING").strip() == "PONG", timeout, "redis-server")

    def stop(self):
        if self.running():
            subprocess.run([REDIS_CLI, "--no-auth-warning", "-a", REDIS_PASSWORD, "-h", "127.0.0.1",
                            "-p", str(self.port), "SHUTDOWN", "SAVE"], capture_output=True, timeout=30)
        self._terminate()
        _wait(lambda: not _port_open(self.port), 10)

    def log(self):
        return _read(os.path.join(self.dir, "redis.log"))

    def cli(self, *args):
        r = subprocess.run([REDIS_CLI, "--no-auth-warning", "-a", REDIS_PASSWORD, "-h", "127.0.0.1",
                            "-p", str(self.port), *args], capture_output=True, text=True, timeout=30)
        return r.stdout

    def keys(self, pattern="*"):
        return sorted(k for k in self.cli("--scan", "--pattern", pattern).split("\n") if k)

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# ------------------------------------------- one server per test run

CLASSES = {"mariadb": MariaDB, "postgresql": PostgreSQL, "redis": Redis}


def _run_id():
    """The same in every xdist worker of one run (and the master), unique per run."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return {}


def _save(path, state):
    with open(path + ".tmp", "w") as f:
        json.dump(state, f)
    os.rename(path + ".tmp", path)


def _reap_abandoned(kind):
    """Servers of earlier runs whose holders are all gone (a run killed
    before its teardown): stopped and removed."""
    if not os.path.isdir(SHARED):
        return
    for run in os.listdir(SHARED):
        if run == _run_id():
            continue
        run_dir = os.path.join(SHARED, run)
        try:
            if (not any(n.endswith(".json") for n in os.listdir(run_dir))
                    and time.time() - os.path.getmtime(run_dir) > 3600):
                shutil.rmtree(run_dir, ignore_errors=True)  # only lock files of a run long over
                continue
        except OSError:
            continue
        path = os.path.join(run_dir, kind + ".json")
        if not os.path.exists(path):
            continue
        with _flock(path + ".lock"):
            state = _load(path)
            if state and not any(_pid_alive(p) for p in state.get("holders", [])):
                CLASSES[kind].attach(state["server"]).cleanup()
                os.unlink(path)


def acquire(kind):
    """The run's shared server of `kind`, started by the first caller."""
    _reap_abandoned(kind)
    path = os.path.join(SHARED, _run_id(), kind + ".json")
    with _flock(path + ".lock"):
        state = _load(path)
        holders = [p for p in state.get("holders", []) if _pid_alive(p) and p != os.getpid()]
        server = None
        if state.get("server"):
            server = CLASSES[kind].attach(state["server"])
            if not server.running():
                shutil.rmtree(server.dir, ignore_errors=True)
                server = None
        if server is None:
            server = CLASSES[kind]()
        _save(path, {"server": server.state(), "holders": holders + [os.getpid()]})
    return server


def release(kind):
    """This process no longer needs the shared server; the last one out stops it."""
    path = os.path.join(SHARED, _run_id(), kind + ".json")
    with _flock(path + ".lock"):
        state = _load(path)
        if not state:
            return
        holders = [p for p in state.get("holders", []) if _pid_alive(p) and p != os.getpid()]
        if holders:
            _save(path, {"server": state["server"], "holders": holders})
            return
        CLASSES[kind].attach(state["server"]).cleanup()
        os.unlink(path)


def _shared(kind, available):
    if not available:
        pytest.skip(f"needs Debian's {kind} server")
    server = acquire(kind)
    yield server
    release(kind)


@pytest.fixture(scope="session")
def shared_mariadb():
    yield from _shared("mariadb", MARIADB_AVAILABLE)


@pytest.fixture(scope="session")
def shared_postgresql():
    yield from _shared("postgresql", POSTGRESQL_AVAILABLE)


@pytest.fixture(scope="session")
def shared_redis():
    yield from _shared("redis", REDIS_AVAILABLE)


ENGINES = {"mysql": (MariaDB, MARIADB_AVAILABLE, "shared_mariadb"),
           "postgresql": (PostgreSQL, POSTGRESQL_AVAILABLE, "shared_postgresql")}


def private_server(engine):
    """A server of its own for a test that stops it ("mysql" or "postgresql")."""
    cls, available, _ = ENGINES[engine]
    if not available:
        pytest.skip(f"needs Debian's {engine} server")
    return cls()
