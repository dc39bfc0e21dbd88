#!/bin/sh
# make-test-signatures.sh DIR: builds a tiny ClamAV signature database in
# DIR for the tests, from Debian's clamav-testfiles (package clamav-testfiles;
# sigtool is in package clamav): test.hdb matches clam.exe (detected as
# ClamAV-Test-File.UNOFFICIAL), test.ndb matches the EICAR test string
# (Eicar-Test-Signature.UNOFFICIAL).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
TESTFILES=/usr/share/clamav-testfiles

mkdir -p "$DIR"
sigtool --md5 "$TESTFILES/clam.exe" | sed 's/:clam\.exe$/:ClamAV-Test-File/' > "$DIR/test.hdb"
printf 'Eicar-Test-Signature:0:*:%s\n' "$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' | od -An -tx1 | tr -d ' \n')" > "$DIR/test.ndb"
