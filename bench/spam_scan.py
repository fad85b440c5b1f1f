#!/usr/bin/python3
"""bench/spam_scan.py: the built-in scorer against Debian's Rspamd on the same corpus.

1. A seeded corpus (bench/spam_corpus.py): --train messages of each class
   for Bayes, --scan varied messages to score.
2. A fake DNS on loopback (tests/integration/dnsserver.py) publishes the
   corpus' sender domains (A, MX, SPF) and the client's PTR; every other
   name (DNS lists, URL lists) is NXDOMAIN with an SOA, answered at once.
3. Mailfort: a `--dev` instance with [spam] engine = "builtin", Bayes on
   (trained with `spam learn`), [inbound] dnsbl and [spam] uribl zones so
   the DNS lookups happen; `spam bench --ip` runs SPF/DKIM/DMARC/ARC and
   the scorer in-process on --threads threads: messages/s and CPU seconds
   of the process (getrusage).
4. Rspamd: rspamd_peer.Rspamd (Debian's rspamd with its stock rules and
   modules, minus those that need the internet; --workers normal workers;
   Bayes in its own redis-server, trained with `rspamc learn_spam|ham`),
   scanned with `rspamc -n PARALLEL` over the same files with the same
   envelope (IP, HELO, MAIL FROM, RCPT); its CPU is read from /proc of the
   rspamd processes (and, separately, of its redis-server) around the run.
   A warm-up pass first (Rspamd compiles its Hyperscan databases at start).

Prints one JSON line per engine and a side-by-side summary: messages/s,
CPU ms per message, messages per CPU second, and the ratio of the last
(the issue's goal: built-in >= 3x Rspamd).

Usage: bench/spam_scan.sh  (or directly: bench/spam_scan.py [--scan N] [--train N] [--threads T] ...)
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
os.environ.setdefault("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))
from conftest import Instance, run_as_owner  # noqa: E402
from dnsserver import FakeDNS  # noqa: E402
from rspamd_peer import Rspamd  # noqa: E402
import spam_corpus  # noqa: E402

CLIENT_IP = "192.0.2.10"
HELO = "mx.example.org"
SENDER = "bench@example.org"
RCPT = "user1@example.test"


def proc_cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                x = f.read().rsplit(")", 1)[1].split()
            total += (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def publish(dns):
    for d in spam_corpus.SENDER_DOMAINS:
        dns.add(d, "A", CLIENT_IP)
        dns.add(d, "MX", f"10 {HELO}.")
        dns.add(d, "TXT", '"v=spf1 ip4:192.0.2.0/24 -all"')
    dns.add(HELO, "A", CLIENT_IP)
    dns.add("10.2.0.192.in-addr.arpa", "PTR", f"{HELO}.")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: {r.stderr[-2000:]}")
    return r.stdout


def builtin(corpus, dns, a, out):
    inst = Instance(dns)
    try:
        inst.set("log", "level", '"warn"')
        inst.set("spam", "engine", '"builtin"')
        inst.set("spam", "bayes", "true")
        inst.set("spam", "bayes_min_learns", str(min(200, a.train)))
        inst.set("spam", "uribl", '["dbl.spamhaus.org", "multi.uribl.com"]')
        inst.set("inbound", "dnsbl", '["zen.spamhaus.org*2", "bl.spamcop.net", "list.dnswl.org=127.0.[0..255].[0..255]*-2"]')
        inst.add_user(RCPT)
        # The CLI reads the corpus after dropping root to the server's user.
        data = os.path.join(inst.dir, "corpus")
        shutil.copytree(corpus, data)
        if os.geteuid() == 0:
            run(["chown", "-R", "mailfort:mailfort", data])
        for cls in ("spam", "ham"):
            run([inst_bin(), "-c", inst.config, "spam", "learn", f"--{cls}", os.path.join(data, "train", cls)])
        args = [inst_bin(), "-c", inst.config, "spam", "bench", "--threads", str(a.threads), "--ip", CLIENT_IP,
                "--helo", HELO, "--sender", SENDER, "--rcpt", RCPT, os.path.join(data, "scan")]
        run(args + ["--repeat", "1"])  # warm-up: page cache, SQLite pages, resolver cache
        text = run(args + ["--repeat", str(a.repeat)])
        with open(os.path.join(out, "builtin.txt"), "w") as f:
            f.write(text)
        kv = dict(re.findall(r"^([\w ]+): (\S+)", text, re.M))
        actions = {k[len("action "):]: int(v) for k, v in kv.items() if k.startswith("action ")}
        return {"engine": "builtin", "messages": int(kv["messages"]), "threads": a.threads,
                "wall_s": float(kv["wall_seconds"]), "cpu_s": float(kv["cpu_seconds"]),
                "msgs_per_s": float(kv["messages_per_second"]), "cpu_ms_per_msg": float(kv["cpu_ms_per_message"]),
                "msgs_per_cpu_s": float(kv["messages_per_cpu_second"]), "failed": int(kv["failed"]),
                "actions": actions}
    finally:
        inst.cleanup()


def inst_bin():
    return os.environ["MAILFORT_BIN"]


def wait_idle(r, seconds=1.0, limit=0.05, timeout=300):
    """Until the rspamd processes use almost no CPU (Hyperscan compiled, maps loaded)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        c0 = proc_cpu(r.pids())
        time.sleep(seconds)
        if proc_cpu(r.pids()) - c0 < limit:
            return
    print("warning: rspamd did not go idle", file=sys.stderr)


def rspamd(corpus, dns, a, out):
    r = Rspamd(dns.address, bayes_min_learns=min(200, a.train), workers=a.workers, log_level="warning")
    try:
        r.start(timeout=600)
        wait_idle(r)
        for cls in ("spam", "ham"):
            p = r.rspamc("-n", "8", f"learn_{cls}", os.path.join(corpus, "train", cls), timeout=1800)
            if p.returncode != 0:
                raise SystemExit(p.stderr.decode()[-2000:])
        learned = r.bayes_learns()
        scan_dir = os.path.join(corpus, "scan")
        files = sorted(os.listdir(scan_dir))
        base = ["rspamc", "-h", f"127.0.0.1:{r.normal_port}", "-n", str(a.parallel), "-t", "60", "-i", CLIENT_IP,
                "--helo", HELO, "-F", SENDER, "-r", RCPT]
        subprocess.run(base + [scan_dir], capture_output=True, timeout=3600)  # warm-up
        wait_idle(r)
        pids = r.pids()
        redis_pid = [r.redis.pid]
        c0, rc0, t0 = proc_cpu(pids), proc_cpu(redis_pid), time.monotonic()
        outputs = []
        for _ in range(a.repeat):
            p = subprocess.run(base + [scan_dir], capture_output=True, text=True, timeout=3600)
            outputs.append(p.stdout)
        wall = time.monotonic() - t0
        cpu, redis_cpu = proc_cpu(pids) - c0, proc_cpu(redis_pid) - rc0
        with open(os.path.join(out, "rspamd.txt"), "w") as f:
            f.write("\n".join(outputs))
        actions = {}
        for o in outputs:
            for act in re.findall(r"^Action: (.+)$", o, re.M):
                actions[act] = actions.get(act, 0) + 1
        n = sum(actions.values())
        total = len(files) * a.repeat
        return {"engine": "rspamd", "messages": total, "scanned": n, "workers": a.workers, "parallel": a.parallel,
                "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "redis_cpu_s": round(redis_cpu, 3),
                "msgs_per_s": round(n / wall, 1), "cpu_ms_per_msg": round(1000 * cpu / max(1, n), 3),
                "msgs_per_cpu_s": round(n / cpu, 1) if cpu else 0,
                "msgs_per_cpu_s_with_redis": round(n / (cpu + redis_cpu), 1) if cpu + redis_cpu else 0,
                "bayes_learns": learned, "actions": actions}
    finally:
        r.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scan", type=int, default=3000)
    ap.add_argument("--train", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="built-in scorer threads")
    ap.add_argument("--workers", type=int, default=2, help="rspamd normal workers")
    ap.add_argument("--parallel", type=int, default=16, help="rspamc parallel requests")
    ap.add_argument("--corpus", help="an existing corpus (spam_corpus.py layout) instead of generating one")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-spam-scan"))
    ap.add_argument("--only", choices=("builtin", "rspamd"))
    a = ap.parse_args()

    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    os.chmod(a.out, 0o755)
    corpus = a.corpus
    if not corpus:
        corpus = os.path.join(a.out, "corpus")
        run([sys.executable, os.path.join(ROOT, "bench", "spam_corpus.py"), corpus, "--scan", str(a.scan),
             "--train", str(a.train), "--seed", str(a.seed)])
    if os.geteuid() == 0:
        run(["chmod", "-R", "a+rX", a.out])  # rspamd runs as _rspamd and reads the files rspamc names
    dns = FakeDNS(negative_ttl=300).start()
    results = []
    try:
        publish(dns)
        if a.only in (None, "builtin"):
            results.append(builtin(corpus, dns, a, a.out))
            print(json.dumps(results[-1]), flush=True)
        if a.only in (None, "rspamd"):
            results.append(rspamd(corpus, dns, a, a.out))
            print(json.dumps(results[-1]), flush=True)
    finally:
        dns.stop()
    by = {r["engine"]: r for r in results}
    lines = [f"{'':28}{'built-in':>12}{'rspamd':>12}"]
    for key, label in (("messages", "messages scanned"), ("msgs_per_s", "messages/s"),
                       ("cpu_ms_per_msg", "CPU ms/message"), ("msgs_per_cpu_s", "messages per CPU second")):
        lines.append(f"{label:28}" + "".join(f"{by[e][key] if e in by else '-':>12}" for e in ("builtin", "rspamd")))
    if len(by) == 2 and by["rspamd"]["msgs_per_cpu_s"]:
        ratio = by["builtin"]["msgs_per_cpu_s"] / by["rspamd"]["msgs_per_cpu_s"]
        lines.append(f"built-in / rspamd, messages per CPU second: {ratio:.1f}x "
                     f"({by['builtin']['msgs_per_cpu_s'] / by['rspamd']['msgs_per_cpu_s_with_redis']:.1f}x "
                     f"counting rspamd's redis-server)")
    summary = "\n".join(lines)
    print(summary)
    with open(os.path.join(a.out, "results.txt"), "w") as f:
        f.write("\n".join(json.dumps(r) for r in results) + "\n" + summary + "\n")


if __name__ == "__main__":
    main()
