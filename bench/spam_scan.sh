#!/usr/bin/env bash
# bench/spam_scan.sh: messages/s and CPU per message of the built-in spam
# scorer against Debian's Rspamd on the same seeded corpus, side by side
# (bench/spam_scan.py does the work; its --help lists the options).
#
# Usage: sudo bench/spam_scan.sh [--quick] [spam_scan.py options...]
#   --quick   600 messages to scan, 210 of each class for Bayes (a smoke run)
# Needs rspamd, redis-server and python3-dnslib (scripts/install-deps.sh --test).
# Everything runs on loopback, DNS included (a fake DNS); bounded by the corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  case $a in
    --quick) args+=(--scan 600 --train 210) ;;
    *) args+=("$a") ;;
  esac
done
bash scripts/build.sh >/dev/null
exec /usr/bin/python3 bench/spam_scan.py "${args[@]}"
