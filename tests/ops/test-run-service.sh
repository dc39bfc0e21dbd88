#!/bin/sh
# test-run-service.sh LMTPSCAND
#
# ./run-service must stop lmtpscand and the spamd it started on SIGTERM
# (sent to the script alone, as a service manager or `kill` does) and on
# Ctrl-C (SIGINT to its process group). Runs the script with its set-up
# skipped (LMTPSCAN_RUN_NO_SETUP=1) on a private run directory and free
# ports; waits for lmtpscand to answer (with RUNTIME_DIRECTORY, the
# script's private directory on a tmpfs, when there is one), signals, and
# asserts that the script, lmtpscand and spamd are all gone within a
# generous bound and that directory with them.
# Exits 77 (ctest skip) without spamd/spamc or setsid.
set -eu

daemon=$1
src=$(cd "$(dirname "$0")/../.." && pwd)

for tool in spamd spamc setsid python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$tool not installed: skipped"
        exit 77
    fi
done

tmp=$(mktemp -d)
left=""
cleanup() {
    # whatever the script left behind, by PID only
    for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    echo "--- run-service output ---" >&2
    cat "$tmp"/out.* >&2 2>/dev/null || true
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() {
    kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# one_run SIGNAL HOW: HOW is "pid" (the script alone) or "group"
one_run() {
    sig=$1
    how=$2
    run=$tmp/run-$sig
    mkdir -p "$run"
    lmtp=$(free_port)
    spamd_port=$(free_port)
    cat > "$run/lmtpscan.conf" <<CONF
[server]
listen = inet:127.0.0.1:$lmtp
smtp_listen =
spool_dir = $run/spool
log = stderr
user = root
[clamav]
enabled = no
[spamd]
address = inet:127.0.0.1:$spamd_port
[deliver]
mode = maildir
maildir = $run/mail/%d/%n/Maildir
quarantine_dir = $run/quarantine
[report]
dir =
CONF
    LMTPSCAN_RUN_DIR=$run LMTPSCAN_RUN_NO_SETUP=1 LMTPSCAN_RUN_SPAMD_PORT=$spamd_port \
        LMTPSCAND=$daemon setsid "$src/run-service" > "$tmp/out.$sig" 2>&1 < /dev/null &
    script=$!
    left="$left $script"

    # lmtpscand answers once spamd is up and the daemon started
    i=0
    until python3 -c 'import socket, sys; s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2); sys.exit(0 if s.recv(100).startswith(b"220") else 1)' "$lmtp" 2>/dev/null; do
        alive "$script" || fail "$sig: run-service exited early"
        i=$((i + 1))
        [ $i -lt 300 ] || fail "$sig: lmtpscand did not answer within 300 s"
        sleep 1
    done
    daemon_pid=$(pgrep -P "$script" -x lmtpscand || true)
    [ -n "$daemon_pid" ] || fail "$sig: no lmtpscand child of run-service"
    spamd_pid=""
    [ -s "$run/spamd.pid" ] && spamd_pid=$(cat "$run/spamd.pid")
    left="$left $daemon_pid $spamd_pid"
    # the daemon's runtime directory on a tmpfs (none when no tmpfs found)
    rt=$(sed -n 's/^run-service: runtime directory \(.*\) (tmpfs), removed on exit$/\1/p' \
        "$tmp/out.$sig")
    if [ -n "$rt" ]; then
        [ -d "$rt" ] || fail "$sig: runtime directory $rt missing"
        tr '\0' '\n' < "/proc/$daemon_pid/environ" | grep -qxF "RUNTIME_DIRECTORY=$rt" ||
            fail "$sig: lmtpscand has no RUNTIME_DIRECTORY=$rt"
    fi

    if [ "$how" = group ]; then
        env kill -s "$sig" -- "-$script"
    else
        kill -"$sig" "$script"
    fi
    i=0
    while alive "$script" || alive "$daemon_pid" || { [ -n "$spamd_pid" ] && alive "$spamd_pid"; }; do
        i=$((i + 1))
        if [ $i -ge 60 ]; then
            state="script $(alive "$script" && echo alive || echo gone),"
            state="$state lmtpscand $(alive "$daemon_pid" && echo alive || echo gone)"
            [ -z "$spamd_pid" ] || state="$state, spamd $(alive "$spamd_pid" && echo alive || echo gone)"
            fail "$sig to the $how: still running after 30 s: $state"
        fi
        sleep 0.5
    done
    if [ -n "$rt" ] && [ -e "$rt" ]; then
        fail "$sig to the $how: runtime directory $rt left behind"
    fi
    [ -n "$rt" ] || echo "note: no writable tmpfs found, no runtime directory"
    if [ -z "$spamd_pid" ]; then
        echo "note: a spamd already answered on 127.0.0.1:783, none was started"
    fi
    echo "ok: $sig to the $how stops run-service, lmtpscand${spamd_pid:+ and spamd}"
}

one_run TERM pid
one_run INT group
