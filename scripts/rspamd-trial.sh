#!/bin/sh
# rspamd-trial.sh DIR [PORT]: prepares DIR as a private rspamd
# configuration for a local, offline trial of lmtpscan with rspamd (and for
# the tests): Debian's /etc/rspamd/rspamd.conf with DIR as LOCAL_CONFDIR,
# only the normal worker on 127.0.0.1:PORT (default 11333), no Redis, and
# every module that asks the network off, so no message waits on DNS or
# on a remote service. Prints the command that starts rspamd in the
# foreground (stop it with Ctrl-C or SIGTERM to its PID).
#
# Modules turned off (each one looks something up over the network, or
# needs Redis): rbl, surbl, emails (DNS lists); spf, dkim, dmarc, arc
# (DNS records); asn (DNS); hfilter (DNS on HELO and host names);
# once_received (a PTR lookup of the client's address whenever rspamd is
# given an address without a host name; with no IP request header that is
# the top Received header's address: 8 % of the benchmark's mails);
# fuzzy_check (UDP to rspamd.com's fuzzy storage); dcc; mx_check;
# phishing and url_redirector (feeds, HTTP); greylist, ratelimit, neural,
# reputation, replies, history_redis, bimi (Redis); rspamd_update,
# whitelist, multimap (maps fetched from maps.rspamd.com); p0f, spamtrap,
# antivirus, external_services, dkim_signing, milter_headers, clickhouse,
# elastic, metadata_exporter (other services).
# The resolver is set to a closed local port with a 0.2 s timeout and no
# retransmits, as a bound for a lookup that still happens: rspamd's
# resolver sends its first query from an unconnected UDP socket, never
# sees the port-unreachable answer and so waits out the whole timeout;
# the log's "dns req: N" counts such lookups (0 for every message here).
# What is left: rspamd's regular-expression rules, MIME, header and
# Received checks, chartable, forged recipients, mime types, mailing
# lists, GTUBE.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [PORT]" >&2
    exit 2
fi
dir=$1
port=${2:-11333}
mkdir -p "$dir/local.d" "$dir/override.d" "$dir/db" "$dir/run" "$dir/log"
dir=$(cd "$dir" && pwd)

for m in rbl surbl emails spf dkim dmarc arc asn hfilter once_received fuzzy_check dcc mx_check \
    phishing url_redirector greylist ratelimit neural reputation replies history_redis bimi \
    rspamd_update whitelist multimap p0f spamtrap antivirus \
    external_services dkim_signing milter_headers clickhouse elastic metadata_exporter; do
    echo "enabled = false;" >"$dir/local.d/$m.conf"
done
cat >"$dir/local.d/options.inc" <<EOT
dns {
  nameserver = ["127.0.0.1:1"];
  timeout = 0.2s;
  retransmits = 0;
}
EOT
cat >"$dir/override.d/worker-normal.inc" <<EOT
bind_socket = "127.0.0.1:$port";
count = 1;
EOT
for w in controller proxy fuzzy; do
    echo "count = -1;" >"$dir/override.d/worker-$w.inc"
done
cat >"$dir/override.d/logging.inc" <<EOT
type = "file";
filename = "$dir/log/rspamd.log";
level = "info";
EOT

user=""
if [ "$(id -u)" -eq 0 ]; then
    # rspamd refuses to run its workers as root
    if id _rspamd >/dev/null 2>&1; then
        chown -R _rspamd:_rspamd "$dir"
        user="-u _rspamd -g _rspamd"
    else
        user="-i"
    fi
fi
echo "rspamd -f $user -c /etc/rspamd/rspamd.conf --var=LOCAL_CONFDIR=$dir" \
    "--var=DBDIR=$dir/db --var=RUNDIR=$dir/run --var=LOGDIR=$dir/log"
