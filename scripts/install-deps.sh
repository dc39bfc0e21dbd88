#!/bin/sh
# install-deps.sh: installs the Debian 12 packages lmtpscan builds, runs
# and is tested with (rspamd for the tests of the second spam engine,
# mandoc checks the man pages, clang-format the C style, git lists the
# files to check; chromium, chromium-driver and python3-selenium drive the
# web page's tests in a real browser, whois brings mkpasswd for its
# password hash). Idempotent: apt-get update runs only when a package
# is missing. Run as root.
set -eu

PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev \
libclamav-dev clamav clamav-testfiles libinih-dev libxml2-dev libxml2-utils \
libjson-c-dev libsasl2-dev sasl2-bin libsasl2-modules libsystemd-dev libssl-dev libcmocka-dev \
spamassassin spamd spamc rspamd postfix swaks dovecot-lmtpd python3 npm valgrind systemd \
mandoc clang-format git libmicrohttpd-dev prometheus zip p7zip-full libcrypt-dev chromium \
chromium-driver python3-selenium whois"

installed() {
    # nodejs from another source brings its own npm (and then conflicts with
    # Debian's npm package): the command is what the tests need.
    if [ "$1" = npm ] && command -v npm >/dev/null 2>&1; then
        return 0
    fi
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $PACKAGES; do
    installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# Postfix must not ask how to configure itself; the tests write their own.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
