#!/usr/bin/env bash
# bench/imap_side_by_side.sh: Mailfort next to tuned Dovecot 2.3 (../shared/bench/peers, process reuse,
# IMAPS) with the compiled load generator bench/imapload (issue 11), on the same machine and data.
#
# Data: users user1..user100@example.test, INBOX of 30 generated ~4 KiB messages each (bench/imap_load.py
# populate: the same bytes for both servers; 30 is where imaptest's profile keeps a folder). APPENDs take
# the messages of bench/imapload/make_mbox.py, the file imaptest's stress mode reads too.
# Load: imapload --profile mixed (imaptest's default stress profile: LOGIN, LIST, STATUS, SELECT, FETCH,
# FETCH2, STORE, STORE \Deleted, EXPUNGE, APPEND, LOGOUT, pipelined as imaptest does) over implicit TLS,
# random users of the 100, at 1, 10, 50 and 200 clients, SECS seconds after a warm-up, RUNS runs per
# point, the servers taking turns run by run (Mailfort, Dovecot, Mailfort, ...). Then logins/s
# (--profile login, 50 clients), then IDLE connections held (--profile idle, from 127.0.0.1-4):
# Mailfort MF_IDLE, Dovecot DC_IDLE (its imap process_limit is 2,048, one process per connection).
# Server CPU is utime+stime of the server's process tree (children included), memory the PSS sum.
#
# Usage: sudo bench/imap_side_by_side.sh [--quick] [--no-peers] [--no-idle] [--no-build] [--reuse-instance]
#   --quick    5 s per point, 1 run, clients 1 10 50, 1,000 IDLE connections (smoke run)
#   --reuse-instance  keep OUT/instance from an earlier run (its 100 Argon2id `user add`s take minutes)
# Env: OUT (results dir, default build/bench-imap-sbs), PORT_BASE (Mailfort's ports, default 41000),
#      PEERS (the peers' recipe), CLIENTS, SECS, RUNS, MF_IDLE, DC_IDLE.
# Loopback only; every load is bounded by time (and the IDLE set-up by --setup-timeout).
# Mailfort's users keep the shipped Argon2id hashes: a first LOGIN per user pass warms its cache of
# verified passwords ([directory] auth_cache_seconds) before anything is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
export PEERS
QUICK=0; PEERS_TOO=1; IDLE_TOO=1; BUILD=1; REUSE=0
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;; --no-peers) PEERS_TOO=0 ;; --no-idle) IDLE_TOO=0 ;; --no-build) BUILD=0 ;;
    --reuse-instance) REUSE=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
PY=/usr/bin/python3
USERS=1-100; MSGS=30
MF_PW='Bench-Pass-2024'; DC_PW=pass
PORT_BASE=${PORT_BASE:-41000}
if [ $QUICK = 1 ]; then
  : "${SECS:=5}" "${WARM:=2}" "${RUNS:=1}" "${CLIENTS:=1 10 50}" "${MF_IDLE:=1000}" "${DC_IDLE:=1000}"
else
  : "${SECS:=20}" "${WARM:=3}" "${RUNS:=3}" "${CLIENTS:=1 10 50 200}" "${MF_IDLE:=10000}" "${DC_IDLE:=2000}"
fi
LOGIN_SECS=10

if [ $BUILD = 1 ]; then
  bash scripts/build.sh >/dev/null
  cmake --build build --target imapload >/dev/null
fi
LOAD=$ROOT/build/imapload
OUT=${OUT:-$ROOT/build/bench-imap-sbs}
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: > "$RES"
ulimit -n "$(ulimit -Hn)"
note() { echo "== $(date -u +%H:%M:%S) $* (load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/log.txt"; }
MBOX=$OUT/messages.mbox
$PY bench/imapload/make_mbox.py "$MBOX" --messages 500

# ---- Mailfort: a fresh instance on fixed ports (kept for the whole run)
INST=$OUT/instance
if [ $REUSE = 0 ] || [ ! -f "$OUT/mf.env" ]; then
  rm -rf "$INST"
  note "Mailfort instance (100 users, Argon2id)"
  $PY bench/mf_instance.py create --dir "$INST" --range $USERS --password "$MF_PW" --port-base "$PORT_BASE" \
    --max-connections 12000 > "$OUT/mf.env"
fi
. "$OUT/mf.env"   # CFG, IMAPS, ...
MF=""
mf_start() {
  ./build/mailfort serve -c "$CFG" 2>>"$OUT/mailfort.stderr" &
  MF=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$IMAPS") 2>/dev/null && return 0; sleep 0.1; done
  echo "mailfort did not start" >&2; exit 1
}
mf_stop() { if [ -n "$MF" ]; then kill "$MF" 2>/dev/null || true; wait "$MF" 2>/dev/null || true; MF=""; fi; }
mf_warm() {  # one LOGIN per user: later logins are answered from the cache of verified passwords
  "$LOAD" --profile login --port "$IMAPS" --range $USERS --password "$MF_PW" --clients 2 --users-in-order \
    --max-sessions 100 --seconds 600 --label mailfort-warm-logins >> "$OUT/warm.jsonl"
}
export PEERS_DIR=${PEERS_DIR:-/var/tmp/mailfort-peers}
DC_PID=$PEERS_DIR/run/dovecot/master.pid
dc_start() { PEERS_TLS=1 bash "$PEERS/start.sh" tuned > "$OUT/peers-start.log" 2>&1; }
cleanup() {
  mf_stop
  if [ $PEERS_TOO = 1 ]; then bash "$PEERS/stop.sh" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# A failed point is a result too (the JSON line says so): go on.
mf_load() {  # profile clients secs [label]
  "$LOAD" --profile "$1" --port "$IMAPS" --range $USERS --password "$MF_PW" --clients "$2" --seconds "$3" \
    --warmup "$WARM" --mbox "$MBOX" --pid "$MF" --label "${4:-mailfort}" | tee -a "$RES" || true
}
dc_load() {
  "$LOAD" --profile "$1" --port 1993 --range $USERS --password "$DC_PW" --clients "$2" --seconds "$3" \
    --warmup "$WARM" --mbox "$MBOX" --pid "$DC_PID" --label "${4:-dovecot-tuned}" | tee -a "$RES" || true
}

note "populate Mailfort"
mf_start
$PY bench/imap_load.py populate --port "$IMAPS" --tls --range $USERS --password "$MF_PW" --messages $MSGS \
  --label mailfort > "$OUT/populate.jsonl"
mf_warm
if [ $PEERS_TOO = 1 ]; then
  note "populate Dovecot (tuned)"
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
  bash "$PEERS/setup.sh" > "$OUT/peers-setup.log" 2>&1
  dc_start
  $PY bench/imap_load.py populate --port 1993 --tls --range $USERS --password "$DC_PW" --messages $MSGS \
    --label dovecot >> "$OUT/populate.jsonl"
fi
# Throw-away runs: the first sessions pay for index building and process start-up.
mf_load mixed 10 5 warmup > /dev/null
if [ $PEERS_TOO = 1 ]; then dc_load mixed 10 5 warmup > /dev/null; fi

for c in $CLIENTS; do
  for r in $(seq "$RUNS"); do
    note "mixed: $c clients, run $r"
    mf_load mixed "$c" "$SECS"
    if [ $PEERS_TOO = 1 ]; then dc_load mixed "$c" "$SECS"; fi
  done
done
for r in $(seq "$RUNS"); do
  note "logins: 50 clients, run $r"
  mf_load login 50 $LOGIN_SECS
  if [ $PEERS_TOO = 1 ]; then dc_load login 50 $LOGIN_SECS; fi
done

# ---- IDLE: each server restarted for a clean baseline (Mailfort's login cache warmed again first)
if [ $IDLE_TOO = 1 ]; then
  if [ $PEERS_TOO = 1 ]; then bash "$PEERS/stop.sh" >/dev/null 2>&1 || true; fi
  mf_stop; mf_start; mf_warm
  note "idle: Mailfort $MF_IDLE"
  "$LOAD" --profile idle --port "$IMAPS" --range $USERS --password "$MF_PW" --conns "$MF_IDLE" \
    --source-ips 127.0.0.1-4 --hold 15 --pid "$MF" --label mailfort | tee -a "$RES" || true
  mf_stop
  if [ $PEERS_TOO = 1 ]; then
    dc_start
    sleep 2
    note "idle: Dovecot tuned $DC_IDLE"
    "$LOAD" --profile idle --port 1993 --range $USERS --password "$DC_PW" --conns "$DC_IDLE" \
      --source-ips 127.0.0.1-4 --hold 15 --pid "$DC_PID" --label dovecot-tuned | tee -a "$RES" || true
    bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
  fi
fi
note "done"
$PY bench/imapload/tables.py "$RES" | tee "$OUT/tables.md"
echo "results: $RES, tables: $OUT/tables.md"
