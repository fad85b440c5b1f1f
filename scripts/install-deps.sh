#!/usr/bin/env bash
# Installs every Debian 12 package Mailfort needs to build, run and test.
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

BUILD_PKGS=(
  build-essential g++ cmake ninja-build ccache pkg-config git
  libasio-dev libssl-dev libunbound-dev libsqlite3-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libargon2-dev libcrypt-dev libgtest-dev libgmock-dev
)
TEST_PKGS=(
  python3 python3-pytest python3-dnslib python3-dkim python3-spf
  openssl curl isync swaks libnet-ssleay-perl libio-socket-ssl-perl sqlite3 clang libclang-rt-14-dev dovecot-imapd ldnsutils
)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
