#!/bin/sh
# test-install.sh BUILD_DIR PREFIX WITH_ADMIN
#
# `cmake --install BUILD_DIR --prefix PREFIX` into a temporary DESTDIR, then
# checks that every file is where the packaging expects it, that the
# installed unit starts the installed daemon, and that a second install
# keeps an edited /etc/lmtpscan/lmtpscan.conf while it refreshes the rest.
# WITH_ADMIN (1/0): whether the lmtpscan admin tool is part of the build.
set -eu

build=$1
prefix=$2
with_admin=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/root"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

DESTDIR="$dest" cmake --install "$build" --prefix "$prefix" >"$tmp/install1.log" 2>&1 ||
    fail "cmake --install: $(cat "$tmp/install1.log")"

p="$dest$prefix"
expect="$p/sbin/lmtpscand
$dest/etc/lmtpscan/lmtpscan.conf
$p/share/lmtpscan/lmtpscan.conf
$p/share/lmtpscan/report.xsd
$p/lib/systemd/system/lmtpscand.service
$p/lib/systemd/system/lmtpscand.socket
$p/lib/sysusers.d/lmtpscan.conf
$p/lib/tmpfiles.d/lmtpscan.conf"
if [ -f "$src/README.md" ]; then
    expect="$expect
$p/share/doc/lmtpscan/README.md"
fi
if [ "$with_admin" = 1 ]; then
    expect="$expect
$p/bin/lmtpscan
$p/lib/systemd/system/lmtpscan-digest.service
$p/lib/systemd/system/lmtpscan-digest.timer
$p/lib/systemd/system/lmtpscan-web.service"
fi
for f in $expect; do
    [ -f "$f" ] || fail "not installed: ${f#"$dest"}"
done
[ -x "$p/sbin/lmtpscand" ] || fail "lmtpscand not executable"
"$p/sbin/lmtpscand" -V >/dev/null || fail "installed lmtpscand -V"
[ ! -e "$p/share/lmtpscan/CMakeLists.txt" ] || fail "CMakeLists.txt installed"
# every shipped conf/ file is in share/lmtpscan
for f in "$src"/conf/*; do
    n=$(basename "$f")
    [ "$n" = CMakeLists.txt ] && continue
    [ -e "$p/share/lmtpscan/$n" ] || fail "conf/$n not in share/lmtpscan"
done
cmp -s "$src/conf/lmtpscan.conf" "$dest/etc/lmtpscan/lmtpscan.conf" ||
    fail "/etc/lmtpscan/lmtpscan.conf differs from conf/lmtpscan.conf"
grep -qx "ExecStart=$prefix/sbin/lmtpscand -f -c /etc/lmtpscan/lmtpscan.conf" \
    "$p/lib/systemd/system/lmtpscand.service" || fail "unit does not start $prefix/sbin/lmtpscand"
if [ "$with_admin" = 1 ]; then
    grep -qx "ExecStart=$prefix/bin/lmtpscan -c /etc/lmtpscan/lmtpscan.conf digest" \
        "$p/lib/systemd/system/lmtpscan-digest.service" ||
        fail "digest unit does not start $prefix/bin/lmtpscan"
fi
# every file CMake says it installed went below DESTDIR
while IFS= read -r f; do
    [ -e "$dest$f" ] || fail "installed outside DESTDIR: $f"
done <"$build/install_manifest.txt"

# Second install: the edited configuration stays, the rest is refreshed.
echo "# edited by the administrator" >>"$dest/etc/lmtpscan/lmtpscan.conf"
cp "$dest/etc/lmtpscan/lmtpscan.conf" "$tmp/edited.conf"
rm "$p/lib/systemd/system/lmtpscand.socket"
DESTDIR="$dest" cmake --install "$build" --prefix "$prefix" >"$tmp/install2.log" 2>&1 ||
    fail "second cmake --install: $(cat "$tmp/install2.log")"
cmp -s "$tmp/edited.conf" "$dest/etc/lmtpscan/lmtpscan.conf" ||
    fail "second install overwrote the edited lmtpscan.conf"
[ -f "$p/lib/systemd/system/lmtpscand.socket" ] || fail "second install did not refresh units"
grep -q "Keeping: .*lmtpscan.conf" "$tmp/install2.log" || fail "no 'Keeping' message"
echo "install: $(wc -l <"$build/install_manifest.txt") files, edited config kept"
