#!/usr/bin/python3
"""bench/imap_load.py: IMAP session load (the bench/imap.sh loop) against any server, and mailbox filling.

  imap_load.py populate  fill INBOX of each user with --messages messages of about --size bytes, by IMAP
                         APPEND with LITERAL+ (pipelined, one connection per user, --parallel users at a
                         time). The messages are generated deterministically from (user, number), so every
                         server gets the same bytes. A user whose INBOX already holds exactly --messages
                         messages is left alone; any other non-empty INBOX is emptied first.
  imap_load.py run       N clients, each looping over one IMAP session:
                           connect (TCP, implicit TLS or STARTTLS, greeting)
                           LOGIN
                           SELECT INBOX
                           FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)
                           UID FETCH <--bodies random UIDs> (BODY.PEEK[])      full messages
                           UID STORE <the same UIDs> +FLAGS (\\Flagged)        -FLAGS every other session
                           LOGOUT
                         Client i logs in as user LO + i % (HI - LO + 1). Runs --warmup + --seconds; only
                         commands that start after the warm-up and finish within --seconds count. Prints one
                         JSON line per run (commands/s = the 6 commands above per second; p50/p90/p99 per
                         command and over all commands; client CPU; with --monitor the server's CPU and peak
                         PSS), then with --runs > 1 a line with "summary": "median".

The client is a compact raw-socket IMAP client (no imaplib), --procs processes with threads, so that
on a small machine it leaves most of the CPU to the server. It recognises the end of a response by
its tagged line at the end of the received data (the tags are unique per command; responses are not
parsed further except for the checks below). Checks: every command must answer OK, FETCH 1:* must
return one FETCH per message, UID FETCH must return --bodies literals.

  imap_load.py populate --port 2993 --tls --users 'user%d@example.test' --range 1-50 --password PW
  imap_load.py run --port 2993 --tls --range 1-50 --password PW --clients 50 --seconds 30 --monitor mf=PID
Loopback only. --monitor uses procmon.py of the peers' recipe (../shared/bench/peers, or $PEERS).
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import re
import resource
import socket
import ssl
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("PEERS", os.path.join(ROOT, "..", "shared", "bench", "peers"))
KINDS = ["login", "select", "fetch_all", "fetch_bodies", "store", "logout"]  # the counted commands


# ---------------------------------------------------------------------------------------------- client
class Imap:
    """Minimal synchronous IMAP client: one command in flight, responses returned as raw bytes."""

    def __init__(self, host, port, tls=False, starttls=False, ctx=None, timeout=60, source=None):
        s = socket.create_connection((host, port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            s = ctx.wrap_socket(s)
        self.sock, self.buf, self.n = s, bytearray(), 0
        self.greeting = self._line()
        if not self.greeting.startswith(b"* OK"):
            raise ConnectionError(f"greeting {self.greeting[:100]!r}")
        if starttls:
            st, _ = self.command(b"STARTTLS")
            if not st.startswith(b"OK"):
                raise ConnectionError(f"STARTTLS {st[:100]!r}")
            self.sock = ctx.wrap_socket(self.sock)

    def _fill(self):
        data = self.sock.recv(1 << 18)
        if not data:
            raise ConnectionError("connection closed by server")
        self.buf += data

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def send(self, data):
        self.sock.sendall(data)

    def next_tag(self):
        self.n += 1
        return b"t%d" % self.n

    def read_tagged(self, tag):
        """-> (status and text after the tag, whole response). The response is complete when the received
        data ends with a line that starts with the tag (the server sends nothing after it)."""
        want = tag + b" "
        while True:
            if len(self.buf) >= 2 and self.buf.endswith(b"\r\n"):
                j = self.buf.rfind(b"\r\n", 0, len(self.buf) - 2)
                j = 0 if j < 0 else j + 2
                if self.buf.startswith(want, j):
                    resp = bytes(self.buf)
                    self.buf.clear()
                    return resp[j + len(want):-2], resp
            self._fill()

    def command(self, text):
        tag = self.next_tag()
        self.send(tag + b" " + text + b"\r\n")
        return self.read_tagged(tag)

    def ok(self, text, what=None):
        st, resp = self.command(text)
        if not st.startswith(b"OK"):
            raise RuntimeError(f"{what or text[:30]!r}: {st[:160]!r}")
        return resp

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def quote(s):
    return b'"' + s.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed test certificates on loopback
    return ctx


def connect(a, ctx, source=None):
    return Imap(a.host, a.port, a.tls, a.starttls, ctx, a.timeout, source)


def users_of(a):
    return [a.users % u for u in range(a.lo, a.hi + 1)]


# ---------------------------------------------------------------------------------------------- populate
FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
         "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoe"]
LAST = ["Smith", "Jones", "Garcia", "Miller", "Davis", "Martin", "Bernard", "Dubois", "Rossi", "Novak"]
DOMAINS = ["example.org", "example.net", "lists.example.com", "corp.example"]
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip "
         "ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla "
         "pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim "
         "id est laborum budget meeting report quarterly release schedule invoice review draft").split()


def make_message(user, i, size):
    """Deterministic ~size-byte message (CRLF) with a realistic header set, for user and number i."""
    r = random.Random(f"{user}/{i}")
    fn, ln, dom = r.choice(FIRST), r.choice(LAST), r.choice(DOMAINS)
    sender = f"{fn.lower()}.{ln.lower()}@{dom}"
    date = formatdate(1_700_000_000 + 3600 * i + r.randrange(3600))
    subject = " ".join(r.choice(WORDS) for _ in range(r.randint(3, 8))).capitalize() + f" (#{i})"
    h = [f"Return-Path: <{sender}>",
         f"Received: from mail.{dom} (mail.{dom} [192.0.2.{r.randrange(1, 255)}])\r\n"
         f"\tby mail.example.test with ESMTPS id {r.getrandbits(48):012x}\r\n\tfor <{user}>; {date}",
         f"Date: {date}",
         f'From: "{fn} {ln}" <{sender}>',
         f"To: <{user}>"]
    if r.random() < 0.4:
        h.append(f'Cc: "{r.choice(FIRST)} {r.choice(LAST)}" <{r.choice(FIRST).lower()}@{r.choice(DOMAINS)}>,'
                 f" {r.choice(FIRST).lower()}@{r.choice(DOMAINS)}")
    h.append(f"Subject: {'Re: ' if r.random() < 0.3 else ''}{subject}")
    h.append(f"Message-ID: <{r.getrandbits(64):016x}.{i}@{dom}>")
    if r.random() < 0.3:
        h.append(f"In-Reply-To: <{r.getrandbits(64):016x}@{dom}>")
    h += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"]
    head = "\r\n".join(h) + "\r\n\r\n"
    body, line = [], []
    n = len(head)
    while n < size - 2:
        w = r.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > 72:
            s = " ".join(line) + "\r\n"
            body.append(s)
            n += len(s)
            line = []
        line.append(w)
    return (head + "".join(body)).encode()


def count_messages(select_resp):
    m = re.search(rb"\* (\d+) EXISTS", select_resp)
    return int(m.group(1)) if m else 0


def populate_user(a, user, ctx):
    t0 = time.perf_counter()
    c = connect(a, ctx)
    try:
        c.ok(b"LOGIN " + quote(user) + b" " + quote(a.password), "LOGIN")
        have = count_messages(c.ok(b"SELECT INBOX"))
        if have == a.messages:
            c.ok(b"LOGOUT")
            return dict(user=user, appended=0, had=have)
        if have:
            c.ok(b"STORE 1:* +FLAGS.SILENT (\\Deleted)")
            c.ok(b"EXPUNGE")
        caps = c.ok(b"CAPABILITY")
        plus = b"LITERAL+" in caps
        sent = 0
        while sent < a.messages:
            batch = range(sent, min(a.messages, sent + 50))
            tags, out = [], bytearray()
            for i in batch:
                msg = make_message(user, i + 1, a.size)
                tag = c.next_tag()
                flags = b"(\\Seen) " if i % 3 else b""
                head = tag + b" APPEND INBOX " + flags + b"{%d%s}\r\n" % (len(msg), b"+" if plus else b"")
                if plus:
                    out += head + msg + b"\r\n"
                    tags.append(tag)
                else:  # synchronising literal: wait for the continuation, one message at a time
                    c.send(head)
                    line = c._line()
                    if not line.startswith(b"+"):
                        raise RuntimeError(f"APPEND: {line[:100]!r}")
                    c.send(msg + b"\r\n")
                    st, _ = c.read_tagged(tag)
                    if not st.startswith(b"OK"):
                        raise RuntimeError(f"APPEND: {st[:100]!r}")
            if plus:
                c.send(bytes(out))
                for tag in tags:
                    st, _ = read_line_tag(c, tag)
                    if not st.startswith(b"OK"):
                        raise RuntimeError(f"APPEND: {st[:100]!r}")
            sent += len(batch)
        n = count_messages(c.ok(b"SELECT INBOX"))
        c.ok(b"LOGOUT")
        if n != a.messages:
            raise RuntimeError(f"{user}: {n} messages after APPEND, expected {a.messages}")
        return dict(user=user, appended=sent, had=have, seconds=round(time.perf_counter() - t0, 2))
    finally:
        c.close()


def read_line_tag(c, tag):
    """reads lines until the one tagged `tag` (pipelined APPENDs answer with short lines only)"""
    want = tag + b" "
    while True:
        line = c._line()
        if line.startswith(want):
            return line[len(want):], line


def cmd_populate(a):
    ctx = tls_context()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(a.parallel) as ex:
        res = list(ex.map(lambda u: populate_user(a, u, ctx), users_of(a)))
    dt = time.perf_counter() - t0
    appended = sum(r["appended"] for r in res)
    print(json.dumps(dict(bench="imap_populate", label=a.label, port=a.port, users=len(res),
                          messages_per_user=a.messages, size=a.size, appended=appended,
                          seconds=round(dt, 1), appends_per_s=round(appended / dt, 1) if appended else None)),
          flush=True)


# ---------------------------------------------------------------------------------------------- load
UID_RE = re.compile(rb"UID (\d+)")
BODY_RE = re.compile(rb"BODY\[\] \{(\d+)\}")


def session(a, user, rnd, ctx, rec, n_session):
    """one session; rec(kind, t_start, t_end) records each step. Returns bytes of bodies received."""
    t = time.perf_counter()
    c = connect(a, ctx)
    try:
        t1 = time.perf_counter()
        rec("connect", t, t1)
        c.ok(b"LOGIN " + quote(user) + b" " + quote(a.password), "LOGIN")
        t2 = time.perf_counter()
        rec("login", t1, t2)
        n = count_messages(c.ok(b"SELECT INBOX"))
        t3 = time.perf_counter()
        rec("select", t2, t3)
        if n == 0:
            raise RuntimeError(f"{user}: empty INBOX (populate first)")
        resp = c.ok(b"FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)")
        t4 = time.perf_counter()
        rec("fetch_all", t3, t4)
        # other sessions' STOREs may add unsolicited "* n FETCH (UID n FLAGS (..))" lines
        if resp.count(b"RFC822.SIZE ") != n:
            raise RuntimeError(f"FETCH 1:* returned {resp.count(b'RFC822.SIZE ')} of {n} messages")
        uids = sorted(set(UID_RE.findall(resp)))
        pick = b",".join(rnd.sample(uids, min(a.bodies, len(uids))))
        resp = c.ok(b"UID FETCH " + pick + b" (BODY.PEEK[])")
        t5 = time.perf_counter()
        rec("fetch_bodies", t4, t5)
        sizes = BODY_RE.findall(resp)
        if len(sizes) != min(a.bodies, len(uids)):
            raise RuntimeError(f"UID FETCH returned {len(sizes)} bodies")
        c.ok(b"UID STORE " + pick + (b" +" if n_session % 2 == 0 else b" -") + b"FLAGS (\\Flagged)")
        t6 = time.perf_counter()
        rec("store", t5, t6)
        c.ok(b"LOGOUT")
        t7 = time.perf_counter()
        rec("logout", t6, t7)
        rec("session", t, t7)
        return sum(int(x) for x in sizes)
    finally:
        c.close()


def client_thread(a, idx, t_from, t_end, out):
    rnd = random.Random(idx)
    users = users_of(a)
    user = users[idx % len(users)]
    ctx = tls_context() if (a.tls or a.starttls) else None
    lat = {k: [] for k in ["connect", "session"] + KINDS}
    st = dict(cmds=0, sessions=0, bytes=0, errors=0, err={})
    # t_from/t_end are wall-clock times shared by all processes; steps are timed with perf_counter()
    off = time.perf_counter() - time.time()
    t_from_p, t_end_p = t_from + off, t_end + off
    wait = t_from_p - a.warmup - time.perf_counter()
    if wait > 0:
        time.sleep(wait)

    def rec_p(kind, t0, t1):
        if t0 >= t_from_p and t1 <= t_end_p:
            lat[kind].append(t1 - t0)
            if kind in KINDS:
                st["cmds"] += 1
            elif kind == "session":
                st["sessions"] += 1

    k = idx
    while time.perf_counter() < t_end_p:
        t_s = time.perf_counter()
        try:
            b = session(a, user, rnd, ctx, rec_p, k)
            if t_s >= t_from_p and time.perf_counter() <= t_end_p:
                st["bytes"] += b
        except Exception as e:  # noqa: BLE001 - count and go on
            if time.perf_counter() < t_end_p:
                st["errors"] += 1
                key = f"{type(e).__name__}: {e}"[:160]
                st["err"][key] = st["err"].get(key, 0) + 1
                time.sleep(0.05)
        k += 1
    out.append((lat, st))


def client_proc(a, ids, t_from, t_end, q):
    out = []
    ths = [threading.Thread(target=client_thread, args=(a, i, t_from, t_end, out)) for i in ids]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    q.put((out, ru.ru_utime + ru.ru_stime))


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(p / 100 * len(xs)))], 2)


def one_run(a, specs):
    nprocs = max(1, min(a.procs, a.clients))
    groups = [list(range(i, a.clients, nprocs)) for i in range(nprocs)]
    q = mp.Queue()
    t_from = time.time() + 1.0 + a.warmup  # 1 s for the processes to start
    t_end = t_from + a.seconds
    ps = [mp.Process(target=client_proc, args=(a, g, t_from, t_end, q)) for g in groups]
    for p in ps:
        p.start()
    mon = None
    if specs:
        sys.path.insert(0, PEERS)
        from procmon import Monitor  # the peers' helper: PSS and CPU of a process tree
        mon = Monitor(specs)
        time.sleep(max(0.0, t_from - time.time()))
        mon.__enter__()
    got = [q.get() for _ in ps]
    if mon:
        mon.__exit__(None, None, None)
    for p in ps:
        p.join()
    lat, errs = {}, {}
    cmds = sessions = nbytes = errors = 0
    for out, _cpu in got:
        for l, st in out:
            for k, v in l.items():
                lat.setdefault(k, []).extend(v)
            cmds += st["cmds"]
            sessions += st["sessions"]
            nbytes += st["bytes"]
            errors += st["errors"]
            for k, v in st["err"].items():
                errs[k] = errs.get(k, 0) + v
    client_cpu = sum(c for _, c in got)
    allcmd = [x for k in KINDS for x in lat.get(k, [])]
    res = dict(bench="imap_load", label=a.label, port=a.port,
               tls="implicit" if a.tls else ("starttls" if a.starttls else "none"),
               clients=a.clients, procs=nprocs, seconds=a.seconds, warmup=a.warmup,
               users=f"{a.users} {a.lo}-{a.hi}", bodies=a.bodies,
               cmds_per_s=round(cmds / a.seconds, 1), sessions_per_s=round(sessions / a.seconds, 2),
               MB_per_s=round(nbytes / a.seconds / 1e6, 2), errors=errors,
               p50_ms=pct(allcmd, 50), p99_ms=pct(allcmd, 99),
               client_cpu_pct=round(100 * client_cpu / (a.seconds + a.warmup + 1), 1),
               lat_ms={k: dict(p50=pct(v, 50), p90=pct(v, 90), p99=pct(v, 99), n=len(v))
                       for k, v in lat.items() if v})
    if errs:
        res["error_samples"] = dict(sorted(errs.items(), key=lambda kv: -kv[1])[:5])
    if mon:
        res["server"] = mon.summary()
    return res


def cmd_run(a):
    specs = {}
    for it in a.monitor or []:
        name, _, spec = it.partition("=")
        specs[name] = spec or name
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = []
    for _ in range(a.runs):
        r = one_run(a, specs)
        runs.append(r)
        print(json.dumps(r), flush=True)
    if a.runs > 1:
        med = sorted(runs, key=lambda r: r["cmds_per_s"])[len(runs) // 2]
        print(json.dumps(dict(med, summary="median", runs_cmds_per_s=[r["cmds_per_s"] for r in runs],
                              runs_p99_ms=[r["p99_ms"] for r in runs],
                              median_p99_ms=statistics.median(r["p99_ms"] or 0 for r in runs))), flush=True)
    return 0 if all(r["cmds_per_s"] > 0 for r in runs) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default="127.0.0.1")
    common.add_argument("--port", type=int, required=True)
    common.add_argument("--tls", action="store_true", help="implicit TLS (certificate not verified)")
    common.add_argument("--starttls", action="store_true")
    common.add_argument("--users", default="user%d@example.test", help="login name pattern, %%d = number")
    common.add_argument("--range", default="1-50", help="user numbers LO-HI")
    common.add_argument("--password", required=True)
    common.add_argument("--timeout", type=float, default=60)
    common.add_argument("--label", default="")
    p = sub.add_parser("populate", parents=[common], help="fill the INBOXes")
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--parallel", type=int, default=8, help="users filled at a time")
    r = sub.add_parser("run", parents=[common], help="session loop")
    r.add_argument("--clients", type=int, default=10)
    r.add_argument("--seconds", type=float, default=20)
    r.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring")
    r.add_argument("--runs", type=int, default=1)
    r.add_argument("--bodies", type=int, default=20)
    r.add_argument("--procs", type=int, default=2 * (os.cpu_count() or 1), help="client processes")
    r.add_argument("--monitor", action="append", metavar="NAME=SPEC",
                   help="server process tree: PID or pidfile (procmon.py); repeatable")
    a = ap.parse_args()
    if a.tls and a.starttls:
        ap.error("--tls and --starttls exclude each other")
    a.lo, a.hi = (int(x) for x in a.range.split("-"))
    return cmd_populate(a) if a.cmd == "populate" else cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
