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
  libargon2-dev libcrypt-dev libgtest-dev libgmock-dev libpsl-dev publicsuffix libre2-dev libcurl4-openssl-dev
  libmariadb-dev libpq-dev libhiredis-dev
)
TEST_PKGS=(
  python3 python3-pytest python3-pytest-xdist python3-dnslib python3-dkim python3-spf python3-authheaders python3-nacl
  openssl curl isync swaks libnet-ssleay-perl libio-socket-ssl-perl sqlite3 clang libclang-rt-14-dev dovecot-imapd ldnsutils
  postfix clamav-daemon clamav-milter rspamd redis-server python3-milter opendkim opendkim-tools
  dovecot-sieve sieve-connect
  mariadb-server mariadb-client postgresql postgresql-client
  roundcube-core roundcube-sqlite3 php-cli php-cgi chromium chromium-driver python3-selenium
)
# Installed first, in their own apt-get call: roundcube-core depends on `php`,
# whose first alternative is Apache's mod_php. With php-cgi already there the
# dependency is met and neither apache2 nor php-fpm (daemons) come in.
FIRST_PKGS=(php-cgi)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  # postfix (test peer, started by the tests in their own directories):
  # "No configuration" and a temporary policy-rc.d (exit 101) so the
  # package neither configures nor starts a system daemon that would take
  # port 25.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  # roundcube-core (webmail driven by tests/integration/test_roundcube.py from
  # a private config and database): no dbconfig-common database, no web
  # server configuration.
  printf '%s\n' "roundcube-core roundcube/dbconfig-install boolean false" \
    "roundcube-core roundcube/reconfigure-webserver multiselect" \
    "roundcube-core roundcube/restart-webserver boolean false" | $SUDO debconf-set-selections
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, mailfort install-deps.sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO apt-get update -qq
  first=()
  for p in "${FIRST_PKGS[@]}"; do
    [[ " ${missing[*]} " == *" $p "* ]] && first+=("$p")
  done
  if [ ${#first[@]} -gt 0 ]; then
    $SUDO apt-get install -y -qq --no-install-recommends "${first[@]}"
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ "$own_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; own_policy=0; fi
  # Should a system Postfix have been started anyway, it stays off for tests;
  # so do roundcube-core's daily timers (there is no system Roundcube database).
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now postfix >/dev/null 2>&1 || true
    # The tests start their own MariaDB, PostgreSQL and Redis in temp directories.
    $SUDO systemctl disable --now mariadb postgresql redis-server >/dev/null 2>&1 || true
    $SUDO systemctl disable --now roundcube-gc.timer roundcube-cleandb.timer >/dev/null 2>&1 || true
  fi
fi
