"""Debian's clamd as a real peer for tests, in its own temp directory: its
own clamd.conf, a unix socket (mode 0666 in a 0755 directory, so the
`mailfort` user the server drops to can reach it) and a TCP socket on a free
loopback port, and a signature database written at test time (no freshclam,
no internet): the EICAR test string as a body signature named
`Eicar-Test-Signature` (clamd reports it as `Eicar-Test-Signature.UNOFFICIAL`,
as it does for every signature outside the official databases).

    with Clamd() as clamd:            # started, answering PING
        clamd.tcp_address             # "127.0.0.1:PORT" ([antivirus] clamd = ...)
        clamd.socket                  # "/tmp/mailfort-it/clamd-XXXX/clamd.sock"
        clamd.scan(b"...")            # "stream: OK" / "stream: NAME FOUND" (INSTREAM)
        clamd.stop(); clamd.start()   # same sockets again
    # stopped and removed

Used by test_antivirus.py and by the clamav-milter tests (clamav-milter's
ClamdSocket: `clamd.milter_clamd_socket`)."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from conftest import BASE
from ports import free_port

CLAMD = "/usr/sbin/clamd"
AVAILABLE = os.path.exists(CLAMD)

# The standard antivirus test file (https://www.eicar.org), 68 bytes.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Eicar-Test-Signature"
REPORTED_NAME = SIGNATURE + ".UNOFFICIAL"


def ndb_line(name, data):
    """An extended (.ndb) signature: `data` anywhere in any file type, so it
    matches inside MIME parts and archives once clamd has unpacked them."""
    return f"{name}:0:*:{data.hex()}"


class Clamd:
    def __init__(self, stream_max_length="25M", signatures=None, extra_conf=""):
        """`signatures`: {name: bytes} added to EICAR's; `stream_max_length`:
        clamd's StreamMaxLength (bigger INSTREAM data is refused with
        "INSTREAM size limit exceeded. ERROR"); `extra_conf`: clamd.conf lines."""
        os.makedirs(BASE, exist_ok=True)
        self.dir = tempfile.mkdtemp(dir=BASE, prefix="clamd-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "clamd.sock")
        self.tcp_address = f"127.0.0.1:{self.port}"
        self.milter_clamd_socket = f"unix:{self.socket}"  # clamav-milter's ClamdSocket syntax
        self.conf = os.path.join(self.dir, "clamd.conf")
        self.logfile = os.path.join(self.dir, "clamd.log")
        self.proc = None
        db = os.path.join(self.dir, "db")
        os.makedirs(db)
        sigs = {SIGNATURE: EICAR, **(signatures or {})}
        with open(os.path.join(db, "test.ndb"), "w") as f:
            f.write("".join(ndb_line(n, d) + "\n" for n, d in sigs.items()))
        # Run as whoever runs the tests (root here: no User line keeps root,
        # which can read the database and bind the sockets in our directory).
        conf = f"""\
Foreground yes
LocalSocket {self.socket}
LocalSocketMode 666
FixStaleSocket yes
TCPSocket {self.port}
TCPAddr 127.0.0.1
DatabaseDirectory {db}
LogFile {self.logfile}
LogTime yes
PidFile {self.dir}/clamd.pid
TemporaryDirectory {self.dir}
StreamMaxLength {stream_max_length}
MaxThreads 4
ScanMail yes
ScanArchive yes
SelfCheck 0
ReadTimeout 30
CommandReadTimeout 10
{extra_conf}
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=60):
        """Starts clamd and waits until both sockets answer PING with PONG."""
        assert self.proc is None, "clamd already running"
        self.proc = subprocess.Popen([CLAMD, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.log"), "a"))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                raise AssertionError(f"clamd exited {rc}: {self.log()[-2000:]}")
            if self.ping(unix=True) and self.ping(unix=False):
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"clamd did not answer PING: {self.log()[-2000:]}")

    def stop(self):
        """SIGTERM, and waits until it has exited (both sockets then refuse)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if os.path.exists(self.socket):  # a killed clamd leaves it; FixStaleSocket copes on restart
            try:
                os.unlink(self.socket)
            except OSError:
                pass

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_contains(self, text, timeout=10.0):
        """clamd writes its log line after it has answered the client, so a
        reader racing the scan reply polls instead of reading once."""
        deadline = time.monotonic() + timeout
        while True:
            if text in self.log():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def log(self):
        try:
            return open(self.logfile, errors="replace").read()
        except FileNotFoundError:
            return ""

    # ---- a minimal client, to check the peer itself ----
    def _connect(self, unix, timeout):
        if unix:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.socket)
            return s
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    @staticmethod
    def _read_reply(s):
        reply = b""
        while not reply.endswith(b"\0"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply.rstrip(b"\0").decode(errors="replace")

    def ping(self, unix=True, timeout=1.0):
        try:
            with self._connect(unix, timeout) as s:
                s.sendall(b"zPING\0")
                return self._read_reply(s) == "PONG"
        except OSError:
            return False

    def scan(self, data, unix=True, chunk=65536, timeout=30):
        """INSTREAM `data`: clamd's reply without the NUL ("stream: OK")."""
        with self._connect(unix, timeout) as s:
            try:
                s.sendall(b"zINSTREAM\0")
                for i in range(0, len(data), chunk):
                    part = data[i:i + chunk]
                    s.sendall(struct.pack("!I", len(part)) + part)
                s.sendall(struct.pack("!I", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd answered early ("INSTREAM size limit exceeded. ERROR") and closed
            try:
                return self._read_reply(s)
            except ConnectionResetError:
                return ""
