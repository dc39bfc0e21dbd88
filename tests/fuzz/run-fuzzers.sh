#!/bin/sh
# run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# Runs each libFuzzer target of a -DLMTPSCAN_FUZZ=ON build for SECONDS
# (default: every target in tests/fuzz), starting from the seed corpus
# tests/fuzz/corpus/TARGET/ (read only; new inputs go to
# BUILD_DIR/tests/fuzz/work/TARGET/). A crash, leak, sanitizer report or
# timeout leaves its input in BUILD_DIR/tests/fuzz/artifacts/ and makes the
# script exit 1 after the other targets ran. Prints the executions per
# target.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=$*
if [ -z "$targets" ]; then
    targets="fuzz_command fuzz_data_reader fuzz_spamd_reply fuzz_config fuzz_xml_text fuzz_rfc2047 fuzz_message_copy fuzz_address"
fi

out="$build/tests/fuzz"
mkdir -p "$out/artifacts" || exit 2
failed=0
ran=0
for t in $targets; do
    exe="$out/$t"
    if [ ! -x "$exe" ]; then
        echo "$t: not built ($exe)" >&2
        failed=1
        continue
    fi
    work="$out/work/$t"
    mkdir -p "$work" || exit 2
    seeds="$here/corpus/$t"
    [ -d "$seeds" ] || seeds=
    log="$out/$t.log"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a
    # parser that balloons is a bug. The seeds go last: libFuzzer writes
    # new inputs only into the first directory.
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
        "$work" $seeds >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    ran=$((ran + 1))
    if [ $rc -ne 0 ]; then
        echo "$t: FAILED (exit $rc) after ${execs:-?} executions; log $log"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
        failed=1
    else
        echo "$t: ok, ${execs:-?} executions in ${seconds}s (${cov:-cov: ?})"
    fi
done
[ $ran -gt 0 ] || failed=1
exit $failed
