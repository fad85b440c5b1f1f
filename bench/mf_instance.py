#!/usr/bin/python3
"""bench/mf_instance.py: a throwaway Mailfort instance for the IMAP benchmarks (loopback only).

  mf_instance.py create --dir DIR --range 1-50 --password PW [--max-connections N] [--port-base P]
      mailfort init --dev in DIR, free ports instead of the dev ports, log level warn, connection limits
      raised for one source address (the load comes from 127.0.0.x), then `user add` user1..userN (the
      shipped password hashing: Argon2id). Prints shell assignments: CFG=... IMAPS=... IMAP=... MX=...
  mf_instance.py rehash --dir DIR --password PW --scheme sha512-crypt|argon2id
      Stores every account's password again with that scheme (directly in the directory database, the
      server must be stopped). SHA512-CRYPT is what Dovecot deployments commonly use; it takes a few ms
      per LOGIN where Argon2id (64 MiB, t=3) takes about 100 ms.
"""
import argparse
import os
import pwd
import re
import socket
import sqlite3
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("MAILFORT_BIN", os.path.join(ROOT, "build", "mailfort"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create(d, users, lo, hi, password, max_conns, port_base=0):
    os.makedirs(os.path.dirname(os.path.abspath(d)), exist_ok=True)
    subprocess.run([BIN, "init", "--dir", d, "--hostname", "mail.example.test", "--domain", "example.test",
                    "--dev"], check=True, capture_output=True)
    cfg = os.path.join(d, "mailfort.toml")
    text = open(cfg).read()
    ports = {}
    for i, (name, port) in enumerate(
            re.findall(r'name = "(\w+)"\nprotocol = "\w+"\naddress = "127\.0\.0\.1:(\d+)"', text)):
        ports[name] = port_base + i if port_base else free_port()
        text = text.replace(f'127.0.0.1:{port}"', f'127.0.0.1:{ports[name]}"')
    text = text.replace("[limits]\n", f"[limits]\nmax_connections = {max_conns + 1000}\n"
                                      f"max_connections_per_ip = {min(100000, max_conns + 1000)}\n", 1)
    text = text.replace("[imap]\n", "[imap]\nmax_connections_per_user_ip = 10000\n", 1)
    text = re.sub(r'(?m)^level = .*$', 'level = "warn"', text)
    open(cfg, "w").write(text)
    for u in range(lo, hi + 1):
        subprocess.run([BIN, "-c", cfg, "user", "add", users % u, "--password-stdin"], input=password + "\n",
                       text=True, check=True, capture_output=True)
    return cfg, ports


def rehash(d, password, scheme):
    db = os.path.join(d, "data", "directory.sqlite")
    st = os.stat(db)
    con = sqlite3.connect(db)
    n = 0
    for (acc_id,) in con.execute("SELECT id FROM accounts").fetchall():
        if scheme == "sha512-crypt":
            h = "{SHA512-CRYPT}" + subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                                                  text=True, check=True, capture_output=True).stdout.strip()
        else:
            raise SystemExit("rehash: only sha512-crypt (re-add the users for argon2id)")
        con.execute("UPDATE accounts SET password = ? WHERE id = ?", (h, acc_id))
        n += 1
    con.commit()
    con.close()
    for f in os.listdir(os.path.dirname(db)):  # files SQLite made as root must stay the server's
        if f.startswith("directory.sqlite"):
            os.chown(os.path.join(os.path.dirname(db), f), st.st_uid, st.st_gid)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--dir", required=True)
    c.add_argument("--users", default="user%d@example.test")
    c.add_argument("--range", default="1-50")
    c.add_argument("--password", required=True)
    c.add_argument("--max-connections", type=int, default=12000)
    c.add_argument("--port-base", type=int, default=0,
                   help="fixed ports from here on (one per listener) instead of free ones")
    r = sub.add_parser("rehash")
    r.add_argument("--dir", required=True)
    r.add_argument("--password", required=True)
    r.add_argument("--scheme", default="sha512-crypt")
    a = ap.parse_args()
    if a.cmd == "create":
        lo, hi = (int(x) for x in a.range.split("-"))
        cfg, ports = create(a.dir, a.users, lo, hi, a.password, a.max_connections, a.port_base)
        print(f"CFG={cfg}")
        for k, v in ports.items():
            print(f"{k.upper()}={v}")
    else:
        print(f"rehashed {rehash(a.dir, a.password, a.scheme)} accounts ({a.scheme})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
