#!/usr/bin/env bash
# bench/smtp_inbound.sh: accepted-and-durably-delivered messages per second
# for Mailfort's MX listener, and the same load against Postfix -> LMTP ->
# Dovecot (../shared/bench/peers) on the same machine, taking turns.
#
# Load: Postfix's smtp-source, one message per connection, all to one
# mailbox (the peers' recipe). Sizes 4 KiB and 100 KiB; 1, 20, 100
# connections. Durability on both sides (Mailfort acknowledges after
# syncfs; Postfix fsyncs its queue file, Dovecot's LMTP its Maildir file).
#
# Usage: sudo bench/smtp_inbound.sh [--quick] [--no-peers] [--auth] [--filter]
#   --quick     one run per point, fewer messages (a smoke run)
#   --no-peers  Mailfort only
#   --auth      instead: the 20-connection point with DKIM-signed mail from a sender domain with SPF,
#               DKIM and DMARC records (fake DNS on loopback) and a DNSBL, [inbound] checks off vs on:
#               delivered/s of both, the ratio and verification CPU per message (smtp_inbound_auth.py)
#   --filter    instead: the 20-connection point with the seeded spam corpus (bench/spam_corpus.py), spam and
#               virus filtering off vs [spam] builtin (Bayes trained) vs builtin + [antivirus] clamd (a clamd
#               of its own with the test signature DB): delivered/s of each, the ratios to unfiltered, and
#               Mailfort's and clamd's CPU per message (smtp_inbound_filter.py)
#   --sieve     instead: the 20-connection point without Sieve vs with the global spam script and a 30-rule
#               user script (bench/sieve/user-30-rules.sieve): delivered/s of both, the ratio, CPU per message
#               (smtp_inbound_sieve.py); then the script's compile and run time (build/sieve_bench)
# Needs root (installs postfix/dovecot for the peers, reads /proc of servers).
# Everything runs on loopback; every load is bounded by its message count.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
QUICK=0; PEERS_TOO=1; AUTH=0; FILTER=0; SIEVE=0
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;; --no-peers) PEERS_TOO=0 ;; --auth) AUTH=1 ;; --filter) FILTER=1 ;; --sieve) SIEVE=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
RUNS=3; [ $QUICK = 1 ] && RUNS=1

if [ $AUTH = 1 ]; then
  bash scripts/build.sh >/dev/null
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  MSGS=2000; [ $QUICK = 1 ] && MSGS=500
  exec /usr/bin/python3 bench/smtp_inbound_auth.py --msgs "$MSGS" --runs "$RUNS" --conns 20
fi

if [ $SIEVE = 1 ]; then
  bash scripts/build.sh >/dev/null
  cmake --build build --target sieve_bench >/dev/null
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  MSGS=2000; [ $QUICK = 1 ] && MSGS=500
  /usr/bin/python3 bench/smtp_inbound_sieve.py --msgs "$MSGS" --runs "$RUNS" --conns 20
  exec build/sieve_bench bench/sieve/user-30-rules.sieve bench/sieve/spam-global.sieve build/bench-inbound-sieve/corpus/scan 20
fi

if [ $FILTER = 1 ]; then
  bash scripts/build.sh >/dev/null
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  MSGS=2000; [ $QUICK = 1 ] && MSGS=500
  exec /usr/bin/python3 bench/smtp_inbound_filter.py --msgs "$MSGS" --runs "$RUNS" --conns 20
fi

bash scripts/install-deps.sh
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || bash "$PEERS/setup.sh"
bash scripts/build.sh >/dev/null

OUT=${OUT:-$ROOT/build/bench-inbound}
rm -rf "$OUT"; mkdir -p "$OUT"; chmod 755 "$OUT"
INST=$OUT/instance
./build/mailfort init --dir "$INST" --hostname mail.example.test --domain example.test --dev >/dev/null
CFG=$INST/mailfort.toml
# smtp-source speaks neither AUTH nor STARTTLS and says HELO with this
# machine's name: trust loopback as Postfix's mynetworks does.
python3 - "$CFG" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = s.replace('[smtp]', '[smtp]\ntrusted_networks = ["127.0.0.0/8"]', 1) if '[smtp]' in s \
    else s + '\n[smtp]\ntrusted_networks = ["127.0.0.0/8"]\n'
s = re.sub(r'(?m)^level = .*$', 'level = "warn"', s)
# 100 parallel sessions come from one address: lift the per-IP cap.
s = s.replace('[limits]', '[limits]\nmax_connections_per_ip = 1000', 1)
open(p, 'w').write(s)
PY
./build/mailfort -c "$CFG" user add user1@example.test >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
./build/mailfort serve -c "$CFG" 2>"$OUT/mailfort.log" &
MF=$!
trap 'kill $MF 2>/dev/null || true; wait $MF 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break; sleep 0.1; done

MB=$INST/data/mailboxes/example.test/user1/mail
points() {  # size conns msgs
  if [ $QUICK = 1 ]; then
    echo "4096 1 300"; echo "4096 20 1000"; echo "4096 100 1000"
    echo "102400 1 200"; echo "102400 20 500"; echo "102400 100 500"
  else
    echo "4096 1 1500"; echo "4096 20 5000"; echo "4096 100 5000"
    echo "102400 1 1500"; echo "102400 20 3000"; echo "102400 100 3000"
  fi
}
echo "== Mailfort" | tee "$OUT/results.txt"
points | while read -r size conns msgs; do
  /usr/bin/python3 "$PEERS/bench_inbound.py" --target 127.0.0.1:2525 --size "$size" --conns "$conns" \
    --msgs "$msgs" --runs "$RUNS" --label "mailfort-$size-c$conns" --from bench@example.org \
    --maildir-glob "$MB" --reset-cmd "rm -rf $MB/new/* $MB/cur/*" --monitor "mailfort=$MF" \
    | tee -a "$OUT/results.txt"
done
kill $MF; wait $MF 2>/dev/null || true
trap - EXIT

if [ $PEERS_TOO = 1 ]; then
  echo "== Postfix + Dovecot (LMTP)" | tee -a "$OUT/results.txt"
  export PEERS_DIR=${PEERS_DIR:-/var/tmp/mailfort-peers}
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
  bash "$PEERS/setup.sh" >/dev/null
  bash "$PEERS/start.sh" default >/dev/null
  U1=$PEERS_DIR/vmail/example.test/user1
  points | while read -r size conns msgs; do
    /usr/bin/python3 "$PEERS/bench_inbound.py" --target 127.0.0.1:2525 --size "$size" --conns "$conns" \
      --msgs "$msgs" --runs "$RUNS" --label "peers-$size-c$conns" \
      --maildir-glob "$U1/Maildir" --reset-cmd "rm -rf $U1" \
      --monitor postfix=/var/spool/postfix/pid/master.pid --monitor "dovecot=$PEERS_DIR/run/dovecot/master.pid" \
      | tee -a "$OUT/results.txt"
  done
  bash "$PEERS/stop.sh" >/dev/null 2>&1 || true
fi
echo "results: $OUT/results.txt"
