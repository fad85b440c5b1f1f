#!/usr/bin/env bash
# bench/imap.sh: IMAP session throughput and memory per IDLE connection, Mailfort next to Dovecot 2.3
# (the peers' recipe, ../shared/bench/peers) on the same machine and the same data.
#
# Data: users user1..user50@example.test, INBOX of 1,000 generated ~4 KiB messages each, APPENDed by
# bench/imap_load.py populate (same bytes for both servers; 2 of 3 messages \Seen).
# Load (bench/imap_load.py run): N clients, each looping LOGIN, SELECT INBOX,
# FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE), UID FETCH of 20 random full bodies (BODY.PEEK[]),
# UID STORE +/-FLAGS (\Flagged) on them, LOGOUT, over implicit TLS on both servers (Mailfort refuses
# LOGIN without TLS; Dovecot runs with PEERS_TLS=1). N = 1, 10, 50; commands/s and latency percentiles.
# Mailfort runs twice: with the shipped password hashing (Argon2id, 64 MiB, t=3: ~100-250 ms CPU per
# LOGIN) and with the accounts re-stored as SHA512-CRYPT (a few ms, what Dovecot installations
# commonly use; the peers' Dovecot stores {PLAIN} passwords, so it pays nothing). Dovecot runs in its
# default process model and in the recipe's "tuned" one (process reuse). The two servers take turns
# point by point. Memory: bench/imap_idle_memory.py, N authenticated IDLE connections (SELECT INBOX,
# IDLE) on each server, sum of PSS over the server's processes.
#
# Usage: sudo bench/imap.sh [--quick] [--no-peers]
#   --quick     10 s per point (3 s warm-up), one run, 2,000 IDLE connections (smoke run, ~15 min)
#   --no-peers  Mailfort only
# Full: 30 s per point (5 s warm-up), 3 runs, 10,000 IDLE connections on Mailfort; Dovecot's IDLE test
# uses 2,000 connections, the recipe's process_limit (one imap + one imap-login process per TLS
# connection). Needs root (peers' recipe, /proc of the servers). Loopback only; every load is bounded
# by time, every population by its message count.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
export PEERS
QUICK=0; PEERS_TOO=1
for a in "$@"; do
  case $a in --quick) QUICK=1 ;; --no-peers) PEERS_TOO=0 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done
PY=/usr/bin/python3
USERS=1-50; MSGS=1000; CLIENTS="1 10 50"
MF_PW='Bench-Pass-2024'; DC_PW=pass
if [ $QUICK = 1 ]; then SECS=10; WARM=3; RUNS=1; MF_IDLE=2000; DC_IDLE=2000
else SECS=30; WARM=5; RUNS=3; MF_IDLE=10000; DC_IDLE=2000; fi

bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
OUT=${OUT:-$ROOT/build/bench-imap}
rm -rf "$OUT"; mkdir -p "$OUT"; chmod 755 "$OUT"
RES=$OUT/results.jsonl
: > "$RES"
ulimit -n "$(ulimit -Hn)"
note() { echo "== $* (load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/log.txt"; }

# ---- Mailfort instance (kept for the whole run)
INST=$OUT/instance
$PY bench/mf_instance.py create --dir "$INST" --range $USERS --password "$MF_PW" \
  --max-connections $MF_IDLE > "$OUT/mf.env"
. "$OUT/mf.env"   # CFG, IMAPS, ...
MF=""
mf_start() {
  ./build/mailfort serve -c "$CFG" 2>>"$OUT/mailfort.stderr" &
  MF=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$IMAPS") 2>/dev/null && return 0; sleep 0.1; done
  echo "mailfort did not start" >&2; exit 1
}
mf_stop() { if [ -n "$MF" ]; then kill "$MF" 2>/dev/null || true; wait "$MF" 2>/dev/null || true; MF=""; fi; }
cleanup() {
  mf_stop
  if [ $PEERS_TOO = 1 ]; then bash "$PEERS/stop.sh" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
# A point where no session completes (the client exits 1) is a result too: go on.
mf_load() {  # label clients [runs]
  $PY bench/imap_load.py run --port "$IMAPS" --tls --range $USERS --password "$MF_PW" --clients "$2" \
    --seconds $SECS --warmup $WARM --runs "${3:-$RUNS}" --label "$1" --monitor "mailfort=$MF" | tee -a "$RES" || true
}

# ---- Dovecot (peers' recipe, TLS listeners)
export PEERS_DIR=${PEERS_DIR:-/var/tmp/mailfort-peers}
DC_PID=$PEERS_DIR/run/dovecot/master.pid
dc_start() {  # default|tuned; the masters inherit stdout, so it goes to a file, not a pipe
  PEERS_TLS=1 bash "$PEERS/start.sh" "$1" > "$OUT/peers-start.log" 2>&1
}
dc_load() {  # label clients
  $PY bench/imap_load.py run --port 1993 --tls --range $USERS --password "$DC_PW" --clients "$2" \
    --seconds $SECS --warmup $WARM --runs $RUNS --label "$1" --monitor "dovecot=$DC_PID" | tee -a "$RES" || true
}

note "populate"
mf_start
$PY bench/imap_load.py populate --port "$IMAPS" --tls --range $USERS --password "$MF_PW" --messages $MSGS \
  --label mailfort | tee -a "$RES"
if [ $PEERS_TOO = 1 ]; then
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
  bash "$PEERS/setup.sh" > "$OUT/peers-setup.log" 2>&1
  dc_start default
  $PY bench/imap_load.py populate --port 1993 --tls --range $USERS --password "$DC_PW" --messages $MSGS \
    --label dovecot | tee -a "$RES"
fi

# Mailfort as shipped: every LOGIN verifies an Argon2id hash. One run per point: login-bound by an
# order of magnitude, and at 50 clients hardly a session completes.
note "load: Mailfort (Argon2id)"
for c in $CLIENTS; do mf_load "mailfort-argon2id" "$c" 1; done

# Logins at a cost comparable to a Dovecot installation; taking turns with Dovecot (default)
mf_stop
$PY bench/mf_instance.py rehash --dir "$INST" --password "$MF_PW" --scheme sha512-crypt
mf_start
for c in $CLIENTS; do
  note "load: $c clients, Mailfort (SHA512-CRYPT) / Dovecot default"
  mf_load "mailfort-sha512crypt" "$c"
  if [ $PEERS_TOO = 1 ]; then dc_load "dovecot-default" "$c"; fi
done
if [ $PEERS_TOO = 1 ]; then
  dc_start tuned
  for c in $CLIENTS; do note "load: $c clients, Dovecot tuned"; dc_load "dovecot-tuned" "$c"; done
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
fi
mf_stop

# ---- memory per IDLE connection (each server started fresh for a clean baseline)
note "idle: Mailfort $MF_IDLE"
$PY bench/imap_idle_memory.py --instance "$INST" --conns $MF_IDLE --range $USERS --password "$MF_PW" \
  --label mailfort | tee -a "$RES"
if [ $PEERS_TOO = 1 ]; then
  dc_start default
  note "idle: Dovecot default $DC_IDLE"
  $PY bench/imap_idle_memory.py --port 1993 --pid "$DC_PID" --conns $DC_IDLE --range $USERS --password "$DC_PW" \
    --label dovecot-default | tee -a "$RES"
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
fi
note "done"

# ---- summary tables (Markdown)
$PY - "$RES" <<'PY' | tee "$OUT/tables.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
load = {}  # the last line per (label, clients): the median line, or the single run with --runs 1
for r in rows:
    if r.get("bench") == "imap_load":
        load[(r["label"], r["clients"])] = r
labels = ["mailfort-sha512crypt", "mailfort-argon2id", "dovecot-default", "dovecot-tuned"]
clients = sorted({c for _, c in load})
def cell(l, c):
    r = load.get((l, c))
    if not r:
        return ("-", "-")
    return (f'{r["cmds_per_s"]:.0f}', f'{r["p99_ms"]:.0f}' if r["p99_ms"] is not None else "-")
print("| clients | " + " | ".join(f"{l} cmds/s | p99 ms" for l in labels) + " | ratio (sha512crypt / best Dovecot) |")
print("|---" * (2 + 2 * len(labels)) + "|")
for c in clients:
    cells = [x for l in labels for x in cell(l, c)]
    mf = load.get(("mailfort-sha512crypt", c))
    dc = [load[(l, c)]["cmds_per_s"] for l in ("dovecot-default", "dovecot-tuned") if (l, c) in load]
    ratio = f'{mf["cmds_per_s"] / max(dc):.2f}x' if mf and dc and max(dc) > 0 else "-"
    print(f"| {c} | " + " | ".join(cells) + f" | {ratio} |")
print()
print("| per-command p50 / p99 ms | " + " | ".join(labels) + " |")
print("|---" * (1 + len(labels)) + "|")
for c in clients:
    for k in ["connect", "login", "select", "fetch_all", "fetch_bodies", "store", "logout"]:
        cells = []
        for l in labels:
            v = load.get((l, c), {}).get("lat_ms", {}).get(k)
            cells.append(f'{v["p50"]:.1f} / {v["p99"]:.1f}' if v else "-")
        print(f"| c={c} {k} | " + " | ".join(cells) + " |")
print()
print("| server | IDLE conns (ok) | PSS per conn KiB | RSS per conn KiB | PSS/conn after warm-up KiB | loaded PSS MB | processes | idle CPU % |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("bench") == "imap_idle_memory":
        print(f'| {r["label"]} | {r["conns"]} ({r["conns_ok"]}) | {r["pss_per_conn_kib"]} | {r["rss_per_conn_kib"]} | '
              f'{r["pss_per_conn_after_warmup_kib"]} | {r["loaded"]["pss_kb"] / 1024:.0f} | {r["loaded"]["nproc"]} | '
              f'{r["idle_cpu_pct"]} |')
PY
echo "results: $RES, tables: $OUT/tables.md"
