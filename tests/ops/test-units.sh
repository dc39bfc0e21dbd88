#!/bin/sh
# test-units.sh BUILD_DIR LMTPSCAND
#
# Checks the systemd files without booting systemd:
# - `systemd-analyze verify` on lmtpscand.service (as generated in
#   BUILD_DIR/systemd, its ExecStart path swapped for the built LMTPSCAND,
#   which must exist for verify) and lmtpscand.socket: exit 0 and not a
#   single warning;
# - lmtpscan-digest.service/.timer and lmtpscan-web.service verify clean
#   too (when the admin tool is built), run as lmtpscan; the web service
#   has every hardening line of the daemon's; the timer is daily;
# - the service runs as lmtpscan, is Type=notify, has an empty capability
#   bounding set, and stops later than the daemon's 30 s grace;
# - sysusers.d and tmpfiles.d applied to an empty root directory create the
#   user and the four 0750 directories owned by it (as root only: needs
#   chown; skipped otherwise).
# Exits 77 (ctest skip) when systemd-analyze is missing.
set -eu

build=$1
daemon=$2
src=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not installed (package systemd): skipped"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

unit="$build/systemd/lmtpscand.service"
[ -f "$unit" ] || fail "$unit not generated"
configured=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[ -n "$configured" ] || fail "no ExecStart in $unit"
mkdir "$tmp/units"
sed "s#$configured#$daemon#g" "$unit" >"$tmp/units/lmtpscand.service"
cp "$src/systemd/lmtpscand.socket" "$tmp/units/"

out=$(systemd-analyze verify --man=no "$tmp/units/lmtpscand.service" \
    "$tmp/units/lmtpscand.socket" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
echo "systemd-analyze verify: clean"

# The digest service (its ExecStart swapped for the built lmtpscan) and
# its daily timer: clean as well, hardened, run as lmtpscan.
admin="$build/admin/lmtpscan"
dunit="$build/systemd/lmtpscan-digest.service"
[ -f "$dunit" ] || fail "$dunit not generated"
dconf=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$dunit")
[ -n "$dconf" ] || fail "no ExecStart in $dunit"
if [ -x "$admin" ]; then
    sed "s#$dconf#$admin#g" "$dunit" >"$tmp/units/lmtpscan-digest.service"
    cp "$src/systemd/lmtpscan-digest.timer" "$tmp/units/"
    out=$(systemd-analyze verify --man=no "$tmp/units/lmtpscan-digest.service" \
        "$tmp/units/lmtpscan-digest.timer" 2>&1) || fail "verify digest units: $out"
    [ -z "$out" ] || fail "systemd-analyze verify warned (digest): $out"
    for l in "User=lmtpscan" "CapabilityBoundingSet=" "NoNewPrivileges=yes" \
        "ProtectSystem=strict" "ExecStart=$admin -c /etc/lmtpscan/lmtpscan.conf digest"; do
        grep -qx "$l" "$tmp/units/lmtpscan-digest.service" || fail "digest service lacks '$l'"
    done
    grep -qx "OnCalendar=daily" "$tmp/units/lmtpscan-digest.timer" || fail "timer not daily"
    echo "digest service and timer: clean"
    # the web page's service: hardened as the daemon's
    wunit="$build/systemd/lmtpscan-web.service"
    [ -f "$wunit" ] || fail "$wunit not generated"
    sed "s#$dconf#$admin#g" "$wunit" >"$tmp/units/lmtpscan-web.service"
    out=$(systemd-analyze verify --man=no "$tmp/units/lmtpscan-web.service" 2>&1) ||
        fail "verify web unit: $out"
    [ -z "$out" ] || fail "systemd-analyze verify warned (web): $out"
    sed -n '/^NoNewPrivileges=/,/^MemoryDenyWriteExecute=/p' "$tmp/units/lmtpscand.service" |
        grep -v '^#' | grep -v '^ReadWritePaths=' >"$tmp/hardening"
    while IFS= read -r l; do
        grep -qxF -- "$l" "$tmp/units/lmtpscan-web.service" || fail "web service lacks '$l'"
    done <"$tmp/hardening"
    [ -s "$tmp/hardening" ] || fail "no hardening lines found in lmtpscand.service"
    for l in "User=lmtpscan" "ExecStart=$admin -c /etc/lmtpscan/lmtpscan.conf web"; do
        grep -qx "$l" "$tmp/units/lmtpscan-web.service" || fail "web service lacks '$l'"
    done
    echo "web service: clean, hardened like the daemon"
fi

# A unit file with a typo must be caught by the same check.
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$tmp/units/lmtpscand.service" \
    >"$tmp/units/bad.service"
out=$(systemd-analyze verify --man=no "$tmp/units/bad.service" 2>&1) || true
[ -n "$out" ] || fail "verify did not notice a misspelt key"

want() {
    grep -qx "$1" "$tmp/units/lmtpscand.service" || fail "service lacks '$1'"
}
want "Type=notify"
want "User=lmtpscan"
want "Group=lmtpscan"
want "CapabilityBoundingSet="
want "NoNewPrivileges=yes"
want "ExecReload=/bin/kill -HUP \$MAINPID"
want "ExecStart=$daemon -f -c /etc/lmtpscan/lmtpscan.conf"
want "ExecStartPre=$daemon -t -c /etc/lmtpscan/lmtpscan.conf"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$tmp/units/lmtpscand.service")
[ -n "$stop" ] && [ "$stop" -gt 30 ] || fail "TimeoutStopSec must exceed 30 s"
grep -qx "ListenStream=/run/lmtpscan/lmtp.sock" "$src/systemd/lmtpscand.socket" ||
    fail "socket: unix listener"
grep -qx "SocketGroup=postfix" "$src/systemd/lmtpscand.socket" || fail "socket: group"
grep -qx "SocketMode=0660" "$src/systemd/lmtpscand.socket" || fail "socket: mode"

if [ "$(id -u)" -ne 0 ]; then
    echo "not root: sysusers/tmpfiles check skipped"
    exit 0
fi
root="$tmp/root"
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$src/systemd/sysusers.d/lmtpscan.conf" ||
    fail "systemd-sysusers"
line=$(grep '^lmtpscan:' "$root/etc/passwd") || fail "no user lmtpscan"
uid=$(echo "$line" | cut -d: -f3)
home=$(echo "$line" | cut -d: -f6)
[ "$home" = /var/spool/lmtpscan ] || fail "home $home"
systemd-tmpfiles --root="$root" --create "$src/systemd/tmpfiles.d/lmtpscan.conf" ||
    fail "systemd-tmpfiles"
for d in /var/spool/lmtpscan /var/spool/lmtpscan/quarantine /var/spool/lmtpscan/reports \
    /var/spool/lmtpscan/notify; do
    st=$(stat -c '%a %u' "$root$d") || fail "$d not created"
    [ "$st" = "750 $uid" ] || fail "$d: mode/owner $st, want 750 $uid"
done
echo "sysusers.d and tmpfiles.d: ok"
