#!/usr/bin/python3
"""bench/smtp_outbound.py: outbound relay throughput, loopback only.

    load (this script, N threads) -> SERVER (relays for 127.0.0.0/8) -> smtp-sink -c

N messages of SIZE bytes, one recipient each, recipients spread evenly
over D domains (d0.test ... d<D-1>.test), one message per SMTP connection,
at most CONNS connections at once. Load: Postfix's smtp-source, one
process per domain, CONNS at a time (--load python: smtplib threads). relayed/s = N / time until the sink
has counted N more messages; CPU ms/msg = the server's CPU (process tree,
../shared/bench/peers/procmon.py) divided by N.

  smtp_outbound.py mailfort [--route dns|relay] ...  starts a throwaway Mailfort instance itself:
      --route dns    (default) a fake DNS (tests/integration/dnsserver.py) gives every domain an MX on
                     127.0.0.1 and delivery.remote_port points at the sink: per-domain grouping, 50
                     destinations
      --route relay  delivery.relay_host = "[127.0.0.1]:SINKPORT": one destination, like Postfix's relayhost
  smtp_outbound.py target --target HOST:PORT --pid PID   any running server that relays to the sink
      (the peers' Postfix: relayhost = [127.0.0.1]:2526)
Prints one JSON line per run and a median line.
"""
import argparse
import json
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))
PEERS = os.environ.get("PEERS", os.path.join(ROOT, "..", "shared", "bench", "peers"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, PEERS)


class Sink:
    """smtp-sink -c prints 'sess=N quit=N mesg=N\\r' after every event; keep the latest mesg."""

    def __init__(self, addr, user="nobody", backlog=1024):
        self.mesg = 0
        self.p = subprocess.Popen(["/usr/sbin/smtp-sink", "-c", "-u", user, addr, str(backlog)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.5)
        if self.p.poll() is not None:
            raise SystemExit(f"smtp-sink on {addr} exited: {self.p.stderr.read().decode(errors='replace')}")

    def _read(self):
        rx = re.compile(rb"mesg=(\d+)")
        tail = b""
        while True:
            chunk = self.p.stdout.read1(65536)
            if not chunk:
                return
            tail = (tail + chunk)[-256:]
            m = rx.findall(tail)
            if m:
                self.mesg = int(m[-1])

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def load_smtp_source(target, msgs, conns, size, domains, run):
    """Postfix's smtp-source, one message per connection (its default): one
    process per domain (`-t user@dK.test`, -s 1), CONNS processes at a time,
    so at most CONNS connections are open and every domain gets its share."""
    share = [msgs // domains + (1 if k < msgs % domains else 0) for k in range(domains)]
    tasks = [(k, n) for k, n in enumerate(share) if n]
    errors = []
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not tasks:
                    return
                k, n = tasks.pop()
            p = subprocess.run(["/usr/sbin/smtp-source", "-l", str(size), "-m", str(n), "-s", "1",
                                "-f", "bench@example.org", "-t", f"user{run}@d{k}.test", target],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0 or p.stderr.strip():
                errors.append(p.stderr.strip() or f"smtp-source exit {p.returncode}")

    run_threads(worker, conns)
    return errors


def run_threads(worker, n):
    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def load_python(target, msgs, conns, size, domains, run):
    host, port = target.rsplit(":", 1)
    body = ("x" * 76 + "\r\n") * max(1, size // 78)
    errors = []
    counter = iter(range(msgs))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            rcpt = f"user{i}@d{i % domains}.test"
            msg = f"From: bench@example.org\r\nTo: {rcpt}\r\nSubject: run {run} msg {i}\r\n\r\n{body}"
            try:
                s = smtplib.SMTP(host, int(port), local_hostname="load.example.org", timeout=60)
                s.sendmail("bench@example.org", [rcpt], msg)
                s.quit()
            except Exception as e:  # noqa: BLE001 - counted, reported
                errors.append(repr(e))

    run_threads(worker, conns)
    return errors


def start_mailfort(sink_port, route, domains, workdir):
    from dnsserver import FakeDNS
    dns = None
    d = os.path.join(workdir, "instance")
    subprocess.run([BIN, "init", "--dir", d, "--hostname", "mail.example.test", "--domain", "example.test", "--dev"],
                   check=True, capture_output=True)
    cfg = os.path.join(d, "mailfort.toml")
    from ports import free_port
    text = open(cfg).read()
    mx_port = None
    for name, port in re.findall(r'name = "(\w+)"\nprotocol = "\w+"\naddress = "127\.0\.0\.1:(\d+)"', text):
        p = free_port()
        text = text.replace(f'127.0.0.1:{port}"', f'127.0.0.1:{p}"')
        if name == "mx":
            mx_port = p
    text = re.sub(r'(?m)^level = .*$', 'level = "warn"', text)

    def put(section, line):  # a key at the top of an existing [section]
        nonlocal text
        text = text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)

    put("limits", "max_connections_per_ip = 10000")
    put("smtp", 'trusted_networks = ["127.0.0.0/8"]')
    put("delivery", f"remote_port = {sink_port}")
    put("delivery", 'default_tls_policy = "may"')
    if route == "relay":
        put("delivery", f'relay_host = "[127.0.0.1]:{sink_port}"')
    else:
        dns = FakeDNS(negative_ttl=300).start()  # denials cacheable, as real zones make them
        for i in range(domains):
            dns.add(f"d{i}.test", "MX", "10 mx.sink.test.")
        dns.add("mx.sink.test", "A", "127.0.0.1")
        text = text.replace("resolvers = []", f'resolvers = ["{dns.address}"]')
    open(cfg, "w").write(text)
    log = open(os.path.join(workdir, "mailfort.log"), "w")
    p = subprocess.Popen([BIN, "serve", "-c", cfg], stdout=subprocess.DEVNULL, stderr=log)
    import socket
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", mx_port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        p.kill()
        raise SystemExit("mailfort did not start: " + open(os.path.join(workdir, "mailfort.log")).read()[-2000:])
    return p, f"127.0.0.1:{mx_port}", dns


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["mailfort", "target"])
    ap.add_argument("--target", help="HOST:PORT (mode target)")
    ap.add_argument("--pid", help="server PID or pidfile to measure (mode target)")
    ap.add_argument("--route", choices=["dns", "relay"], default="dns")
    ap.add_argument("--sink", default="127.0.0.1:2526")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--msgs", type=int, default=1000)
    ap.add_argument("--domains", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--label", default="")
    ap.add_argument("--load", choices=["smtp-source", "python"], default="smtp-source",
                    help="load generator: smtp-source processes (default) or smtplib threads")
    a = ap.parse_args()
    load = load_smtp_source if a.load == "smtp-source" else load_python
    from procmon import Monitor
    sink = Sink(a.sink)
    workdir = tempfile.mkdtemp(prefix="mf-bench-out-")
    os.chmod(workdir, 0o755)
    proc = dns = None
    try:
        if a.mode == "mailfort":
            proc, target, dns = start_mailfort(int(a.sink.rsplit(":", 1)[1]), a.route, a.domains, workdir)
            spec = str(proc.pid)
            label = a.label or f"mailfort-{a.route}"
        else:
            target, spec, label = a.target, a.pid, a.label or "target"
        rows = []
        for r in range(1, a.runs + 1):
            last = -1
            while sink.mesg != last:  # stragglers of the previous run
                last = sink.mesg
                time.sleep(1)
            c0 = sink.mesg
            mon = Monitor({"server": spec})
            mon.__enter__()
            t0 = time.monotonic()
            errors = load(target, a.msgs, a.conns, a.size, a.domains, r)
            t_acc = time.monotonic() - t0
            while sink.mesg - c0 < a.msgs - len(errors) and time.monotonic() - t0 < t_acc + a.timeout:
                time.sleep(0.05)
            t_rel = time.monotonic() - t0
            mon.__exit__(None, None, None)
            relayed = sink.mesg - c0
            cpu = mon.summary()["server"]["cpu_s"]
            row = dict(bench="smtp_outbound", label=label, load=a.load, route=a.route if a.mode == "mailfort" else "",
                       size=a.size, conns=a.conns, msgs=a.msgs, domains=a.domains, run=r,
                       accepted_per_s=round(a.msgs / t_acc, 1), relayed=relayed,
                       relayed_per_s=round(relayed / t_rel, 1), complete=relayed >= a.msgs,
                       cpu_ms_per_msg=round(1000 * cpu / a.msgs, 2), load_errors=len(errors))
            if errors:
                row["first_error"] = errors[0]
            print(json.dumps(row), flush=True)
            rows.append(row)
        print(json.dumps(dict(bench="smtp_outbound", label=label, summary="median", runs=len(rows),
                              relayed_per_s=statistics.median(x["relayed_per_s"] for x in rows),
                              cpu_ms_per_msg=statistics.median(x["cpu_ms_per_msg"] for x in rows),
                              all_complete=all(x["complete"] for x in rows))), flush=True)
    finally:
        sink.stop()
        if proc:
            proc.terminate()
            proc.wait(15)
        if dns:
            dns.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
