#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running Mailfort:
# installs packages, builds, creates ./instance (SQLite directory, self-signed
# certificate, demo domain example.test and user demo@example.test, loopback
# ports 2525/2587/2465/...) on first run, then serves in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
INSTANCE=${INSTANCE:-$PWD/instance}
BIN=$PWD/build/mailfort
if [ ! -f "$INSTANCE/mailfort.toml" ]; then
  "$BIN" init --dir "$INSTANCE" --hostname mail.example.test --domain example.test --dev
  echo
  echo "Creating the demo user (its password is printed once, below):"
  "$BIN" -c "$INSTANCE/mailfort.toml" user add demo@example.test
  echo
fi
"$BIN" check -c "$INSTANCE/mailfort.toml"
echo "Serving; stop with Ctrl-C. Try: swaks --server 127.0.0.1:2587 --tls --auth-user demo@example.test --quit-after AUTH"
exec "$BIN" serve -c "$INSTANCE/mailfort.toml"
