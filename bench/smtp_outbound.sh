#!/usr/bin/env bash
# bench/smtp_outbound.sh: outbound relay throughput with durability on, for
# Mailfort and for Postfix (../shared/bench/peers, relayhost
# [127.0.0.1]:2526) relaying the same load to the same smtp-sink on
# 127.0.0.1:2526, taking turns.
#
# Load (bench/smtp_outbound.py): Postfix's smtp-source, 1,000 messages of
# 4 KiB, one recipient each, recipients spread evenly over 50 domains (one
# smtp-source process per domain, 20 at a time: at most 20 connections),
# one message per connection. Mailfort accepts relay from 127.0.0.0/8 without AUTH
# (smtp.trusted_networks) and routes the 50 domains through a fake DNS
# whose MX records all point at the sink (per-domain grouping: 50
# destinations); ROUTE=relay uses delivery.relay_host instead (one
# destination, as Postfix's relayhost). Prints relayed/s and the server's
# CPU ms per message.
#
# Usage: sudo bench/smtp_outbound.sh [--quick] [--no-peers]
#   --quick     one run of 1,000 messages (a smoke run)
#   --no-peers  Mailfort only
# Needs root for the peers (setup.sh rewrites /etc/postfix, see its README).
# Everything runs on loopback; every load is bounded by its message count.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
QUICK=0; PEERS_TOO=1
for a in "$@"; do
  case $a in --quick) QUICK=1 ;; --no-peers) PEERS_TOO=0 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac
done
RUNS=3; [ $QUICK = 1 ] && RUNS=1
MSGS=${MSGS:-1000}; CONNS=${CONNS:-20}; ROUTE=${ROUTE:-dns}

command -v smtp-sink >/dev/null || [ -x /usr/sbin/smtp-sink ] || bash "$PEERS/setup.sh"
bash scripts/build.sh >/dev/null
OUT=${OUT:-$ROOT/build/bench-outbound}
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== Mailfort ($ROUTE)" | tee "$OUT/results.txt"
PEERS=$PEERS /usr/bin/python3 bench/smtp_outbound.py mailfort --route "$ROUTE" --sink 127.0.0.1:2526 \
  --size 4096 --conns "$CONNS" --msgs "$MSGS" --domains 50 --runs "$RUNS" | tee -a "$OUT/results.txt"

if [ $PEERS_TOO = 1 ]; then
  echo "== Postfix (relayhost [127.0.0.1]:2526)" | tee -a "$OUT/results.txt"
  export PEERS_DIR=${PEERS_DIR:-/var/tmp/mailfort-peers}
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
  bash "$PEERS/setup.sh" >/dev/null
  bash "$PEERS/start.sh" default >/dev/null
  PEERS=$PEERS /usr/bin/python3 bench/smtp_outbound.py target --target 127.0.0.1:2525 \
    --pid /var/spool/postfix/pid/master.pid --label postfix --sink 127.0.0.1:2526 \
    --size 4096 --conns "$CONNS" --msgs "$MSGS" --domains 50 --runs "$RUNS" | tee -a "$OUT/results.txt"
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
fi
echo "results: $OUT/results.txt"
